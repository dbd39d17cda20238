"""Which failures say the Docker engine went away, and which are the container's own."""

from __future__ import annotations

import requests

from workbench.kernel.docker import engine_lost


def _failed(url: str, kind: type[requests.RequestException]) -> requests.RequestException:
    return kind("failed", request=requests.Request("GET", url).prepare())


def test_a_request_to_the_engine_that_fails_is_the_engine_lost_or_hung() -> None:
    cut = engine_lost(
        _failed("http+docker://localhost/v1.41/containers/x/json", requests.ConnectionError)
    )
    assert cut is not None and "was lost in the middle of the work" in cut.message
    hung = engine_lost(
        _failed("http://10.0.0.5:2375/v1.47/containers/x/exec", requests.ReadTimeout)
    )
    assert hung is not None and "stopped answering in the middle of the work" in hung.message


def test_a_request_to_the_containers_own_port_that_fails_is_not_the_engine() -> None:
    assert engine_lost(_failed("http://127.0.0.1:8080/predict", requests.ConnectionError)) is None
    assert engine_lost(_failed("http://127.0.0.1:8080/predict", requests.ReadTimeout)) is None
    assert engine_lost(ValueError("not a connection at all")) is None

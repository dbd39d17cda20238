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


def test_a_stream_cut_inside_the_docker_sdk_is_the_engine_lost() -> None:
    import docker.utils.json_stream as sdk_stream  # a module of the SDK's own
    from urllib3.exceptions import ProtocolError

    def cut_in_the_sdk() -> None:
        exec(
            "raise ProtocolError('Connection broken: IncompleteRead')",
            vars(sdk_stream) | {"ProtocolError": ProtocolError},
        )

    try:
        cut_in_the_sdk()
    except ProtocolError as exc:
        lost = engine_lost(exc)
    assert lost is not None and "in the middle of a stream" in lost.message
    # The same error from our own client reading a container's answer is not the engine.
    try:
        raise ProtocolError("Connection broken: IncompleteRead")
    except ProtocolError as exc:
        assert engine_lost(exc) is None


def test_an_engine_answer_is_said_by_its_explanation_cut_at_a_word() -> None:
    """A failed pull printed `500 Server Error for http+docker://...` cut mid-word (#25)."""
    import requests
    from docker.errors import APIError

    from workbench.kernel.docker import short_error

    response = requests.Response()
    response.status_code = 500
    response.url = "http+docker://localhost/v1.47/images/create?tag=3.11-slim&fromImage=python"
    reason = "Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io: " * 9
    said = short_error(APIError("500 Server Error", response=response, explanation=reason))
    assert said.startswith("the engine answered 500: Get https://registry-1.docker.io/v2/")
    assert "http+docker" not in said and "\n" not in said
    assert len(said) <= 304 and said.endswith(" ...")
    assert said[:-4].split()[-1] in reason.split()  # cut at a word, not in one
    assert short_error(ValueError("first line\nsecond line")) == "first line second line"

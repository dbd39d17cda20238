"""Registry credentials: a broken Docker configuration is named, never taken for 'none'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import credentials


def test_an_unreadable_docker_config_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{ not json")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with pytest.raises(
        WorkbenchError, match=r"config\.json: the Docker configuration cannot be read"
    ):
        credentials("registry.example:5000")


def test_a_missing_credential_helper_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "nowhere-helper"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with pytest.raises(WorkbenchError) as failed:
        credentials("registry.example:5000")
    assert "the credential helper named in" in failed.value.message
    assert "docker-credential-*" in (failed.value.fix or "")


def test_auths_are_read_and_no_config_means_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert credentials("registry.example:5000") is None
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {"registry.example:5000": {"auth": "YW5hOnMzY3JldA=="}}})
    )
    assert credentials("registry.example:5000") == ("ana", "s3cret")

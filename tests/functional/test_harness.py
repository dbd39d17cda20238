"""The harness really gives a working engine, base image and registry."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from tests.helpers import remove_image
from workbench.demo import parts as harness

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

DOCKERFILE = b"""\
FROM python:3.11-slim
RUN python3 -c "print('built')" > /built.txt
CMD ["python3", "-c", "import sys; print(open('/built.txt').read().strip(), sys.version_info[:2])"]
"""


def test_build_run_and_push_from_the_stand_in_base(docker_engine, base_image, registry):
    image, _ = docker_engine.images.build(
        fileobj=io.BytesIO(DOCKERFILE), tag="wb-harness:test", rm=True, forcerm=True
    )
    output = docker_engine.containers.run(image.id, remove=True).decode()
    assert output.startswith("built (3, 11)"), output

    target = f"{registry.host}/harness/smoke"
    image.tag(target, tag="1")
    events = [
        json.loads(line) if isinstance(line, str | bytes) else line
        for line in docker_engine.api.push(target, tag="1", stream=True, decode=True)
    ]
    assert not [e for e in events if "error" in e], events
    pushed = next(e["aux"]["Digest"] for e in events if "aux" in e and "Digest" in e["aux"])

    answer = httpx.head(
        f"{registry.url}/v2/harness/smoke/manifests/1",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    assert answer.status_code == 200
    assert answer.headers["Docker-Content-Digest"] == pushed
    remove_image(docker_engine, target + ":1", force=True)


def test_registry_with_auth_refuses_anonymous_and_accepts_the_user(auth_registry):
    anonymous = httpx.get(f"{auth_registry.url}/v2/")
    assert anonymous.status_code == 401
    assert httpx.get(f"{auth_registry.url}/v2/", auth=auth_registry.auth).status_code == 200
    assert httpx.get(f"{auth_registry.url}/v2/", auth=("ana", "wrong")).status_code == 401


def test_base_image_is_reused_when_present(docker_engine, base_image):
    first = harness.ensure_base_image(base_image)
    second = harness.ensure_base_image(base_image, try_pull=False)
    assert first == second == docker_engine.images.get(base_image).id


def test_a_registry_that_cannot_start_gives_a_clear_error(registry):
    with pytest.raises(harness.UnavailableError, match="already in use"):
        harness.start_registry(port=registry.port, wait_seconds=5)

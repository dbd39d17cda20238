"""The Docker engine, through the docker SDK: one way to get a client, with a timeout.

Starting or installing an engine is not the product's business (see
`workbench.demo.parts` for the demo and the tests); here a missing engine is a
clear error that says how to start one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.kernel.errors import UnavailableError

if TYPE_CHECKING:
    import docker


def docker_client(timeout: int = 120) -> docker.DockerClient:
    """A client for the running engine, or an `UnavailableError` saying how to start one.

    `timeout` bounds every API call of this client, so a hung engine gives an error
    instead of a hang."""
    import docker  # the SDK costs ~0.1 s to import: only commands that use Docker pay it
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (DockerException, RequestException) as exc:  # a hung engine: a read timeout
        raise UnavailableError(
            f"no Docker engine answers ({short_error(exc)}).",
            fix="start Docker (on Debian/Ubuntu as root: `apt-get install docker.io` and "
            "`dockerd &`), or set DOCKER_HOST to a running engine.",
        ) from None
    return client


def short_error(exc: BaseException) -> str:
    """The first line of an exception's text, at most 200 characters."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

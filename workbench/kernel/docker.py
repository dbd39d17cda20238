"""The Docker engine, through the docker SDK: one way to get a client, with a timeout.

Starting or installing an engine is not the product's business (see
`workbench.demo.parts` for the demo and the tests); here a missing engine is a
clear error that says how to start one.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workbench.kernel.cancel import raise_if_cancelled
from workbench.kernel.errors import UnavailableError

if TYPE_CHECKING:
    import docker


PING_SECONDS = 15  # an engine that does not answer a ping in this time is said to hang


def docker_client(timeout: int = 120) -> docker.DockerClient:
    """A client for the running engine, or an `UnavailableError` saying how to start one.

    `timeout` bounds every API call of this client, so a hung engine gives an error
    instead of a hang; the first call (a ping) is bounded by `PING_SECONDS` at most."""
    import docker  # the SDK costs ~0.1 s to import: only commands that use Docker pay it
    from docker.errors import DockerException
    from requests.exceptions import ReadTimeout, RequestException

    try:
        client = docker.from_env(timeout=min(timeout, PING_SECONDS))
        client.ping()
        client.api.timeout = timeout
    except (DockerException, RequestException) as exc:
        if _caused_by(exc, ReadTimeout) or "Read timed out" in str(exc):
            raise UnavailableError(
                f"the Docker engine accepts connections but did not answer a ping within "
                f"{min(timeout, PING_SECONDS)} s: it hangs.",
                fix="restart the engine (`systemctl restart docker`, or stop and start `dockerd`).",
            ) from None
        raise UnavailableError(
            f"no Docker engine answers ({short_error(exc)}).",
            fix="start Docker (on Debian/Ubuntu as root: `apt-get install docker.io` and "
            "`dockerd &`), or set DOCKER_HOST to a running engine.",
        ) from None
    return client


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):  # the SDK wraps the connection's error in its own
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


ENGINE_PATH = re.compile(r"^/v\d+\.\d+/")  # the engine API's versioned paths


def _to_the_engine(exc: BaseException) -> bool:
    """Whether a failed request went to the Docker engine (its socket, or its versioned API
    over TCP), not to a container's own port."""
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    if url:
        parsed = urlsplit(url)
        return parsed.scheme.startswith("http+") or bool(ENGINE_PATH.match(parsed.path))
    text = str(exc)
    return "http+docker" in text or "UnixHTTPConnectionPool" in text


def _raised_in_docker(exc: BaseException) -> bool:
    """Whether the failure came up through the docker SDK (a call to the engine), not
    through our own HTTP client talking to a container."""
    trace = exc.__traceback__
    while trace is not None:
        if str(trace.tb_frame.f_globals.get("__name__", "")).startswith("docker."):
            return True
        trace = trace.tb_next
    return False


def engine_lost(exc: BaseException) -> UnavailableError | None:
    """The `UnavailableError` to raise when `exc` says the engine went away or hung in the
    middle of the work (the connection refused, cut or timed out), else None: such a
    failure says nothing about what was being checked."""
    from requests.exceptions import ChunkedEncodingError, ReadTimeout
    from requests.exceptions import ConnectionError as Refused
    from urllib3.exceptions import ProtocolError

    seen: BaseException | None = exc
    for _ in range(5):  # the SDK wraps the connection's error in its own
        if seen is None:
            return None
        if isinstance(seen, ChunkedEncodingError | ProtocolError) and _raised_in_docker(exc):
            # A stream of the engine's (a build, a push) cut in the middle.
            return UnavailableError(
                f"the connection to the Docker engine was lost in the middle of a stream "
                f"({short_error(seen)}).",
                fix="start the engine again, then run again.",
            )
        if isinstance(seen, Refused | ReadTimeout) and not _to_the_engine(seen):
            return None  # a request to the container itself: the container's failure
        if isinstance(seen, ReadTimeout):
            return UnavailableError(
                f"the Docker engine stopped answering in the middle of the work (no answer "
                f"within its timeout: {short_error(seen)}).",
                fix="restart the engine, then run again (serve.engine_timeout sets the wait).",
            )
        if isinstance(seen, Refused):
            return UnavailableError(
                f"the connection to the Docker engine was lost in the middle of the work "
                f"({short_error(seen)}).",
                fix="start the engine again, then run again; the containers of this run are "
                "removed when it answers again.",
            )
        seen = seen.__cause__ or seen.__context__
    return None


def short_error(exc: BaseException, limit: int = 300) -> str:
    """What went wrong, as one line of at most `limit` characters cut at a word: for an
    answer of the engine, what it explained (not `500 Server Error for http+docker://...`),
    with its status."""
    explanation = getattr(exc, "explanation", None)
    status = getattr(exc, "status_code", None)
    if explanation:
        if isinstance(explanation, bytes):
            explanation = explanation.decode(errors="replace")
        text = f"the engine answered {status}: {explanation}" if status else str(explanation)
    else:
        text = str(exc)
    line = " ".join(text.split())
    if not line:
        return type(exc).__name__
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0] + " ..."
    return line


def cancellable_stream(
    client: docker.DockerClient,
    cancel: threading.Event | None,
    open_stream: Callable[[], Iterable[Any]],
) -> Iterator[Any]:
    """The messages of a streaming engine call (`open_stream`, e.g. a build or a push),
    ended by `Cancelled` as soon as `cancel` is set, even while the engine says nothing.

    A build step or a push to a slow registry can be silent for minutes: a check of the
    flag between the engine's messages would wait for the next message. Here the call is
    hung up on (`_hang_up_on_cancel`): the engine sees its client go and stops the work,
    the blocked read ends, and whatever that read raised, or a quiet end of the stream
    (as if the work had finished), becomes `Cancelled`."""
    with _hang_up_on_cancel(client, cancel):
        try:
            for message in open_stream():
                raise_if_cancelled(cancel)
                yield message
        except Exception:
            raise_if_cancelled(cancel)  # the hang-up broke the stream: that is the cancel
            raise
    raise_if_cancelled(cancel)


@contextmanager
def _hang_up_on_cancel(
    client: docker.DockerClient, cancel: threading.Event | None
) -> Iterator[None]:
    """While inside, setting `cancel` shuts down, within 0.1 s, the socket of every
    streaming call this client opened."""
    if cancel is None:
        yield
        return
    responses: list[Any] = []

    def capture(response: Any, *args: Any, **kwargs: Any) -> None:
        responses.append(response)

    hooks = client.api.hooks["response"]
    hooks.append(capture)
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancel.wait(0.1):
                for response in list(responses):
                    _shut_down(response)
                return

    watcher = threading.Thread(target=watch, name="workbench-hang-up", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        hooks.remove(capture)


def _shut_down(response: Any) -> None:
    """Shut down the socket under a streamed `requests` response (the path the docker SDK
    itself reads it from: urllib3's response -> http.client's -> its socket file); a
    response already read to the end has no socket left, and is skipped."""
    try:
        sock = response.raw._fp.fp.raw._sock
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass

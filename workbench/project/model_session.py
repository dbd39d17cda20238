"""One interpreter of the model's environment kept for the questions of one command.

`schema infer` asks the model twice (what it knows of itself, then its answers to rows
built from that): each fresh interpreter imports the model's libraries again, a second or
more. Inside `with model_session(manifest):` every question `predict_in_model_env` asks of
that project goes to one `inprocess.py --many` (a request per line, an answer per line),
started at the first question that is not already answered, and about one staged copy of
the model folder. The answers, and their keeping (`answers_cache`), are the same as a fresh
interpreter's; a later answer lists the modules imported since the interpreter started.
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from workbench.kernel.environ import without_secrets
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import runtime_dir
from workbench.project.manifest import Manifest
from workbench.project.model_files import staged_model

_OPEN: ContextVar[ModelSession | None] = ContextVar("model_session", default=None)


def no_interpreter(interpreter: Path) -> WorkbenchError:
    return WorkbenchError(
        f"the interpreter {interpreter} does not exist.",
        fix="set `python:` in workbench.yaml to your environment's interpreter "
        "(e.g. .venv/bin/python), or create that environment.",
    )


def cannot_run(interpreter: Path, exc: OSError) -> WorkbenchError:
    return WorkbenchError(
        f"{interpreter} cannot be run ({exc.strerror}).",
        fix="point `python:` at a Python 3 interpreter.",
    )


def not_python(interpreter: Path, stderr: str) -> WorkbenchError:
    tail = " / ".join(stderr.strip().splitlines()[-3:])
    return WorkbenchError(
        f"{interpreter} is not a working Python 3.8+ interpreter ({tail or 'no output'}).",
        fix="point `python:` in workbench.yaml at your environment's python, with your "
        "model's libraries installed.",
    )


class ModelSession:
    """The staged model folder of one project and, once asked, its interpreter."""

    def __init__(self, manifest: Manifest, app: Path) -> None:
        self.root = manifest.root
        self.interpreter = manifest.interpreter()
        self.app = app
        self.started = 0  # interpreters started (one, unless one died or hung)
        self.asked = 0  # questions the current interpreter was asked
        self.started_at = 0.0  # when the current interpreter started (time.time())
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: IO[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if not self.interpreter.exists():
            raise no_interpreter(self.interpreter)
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in close()
        try:
            process = subprocess.Popen(
                [str(self.interpreter), str(runtime_dir() / "inprocess.py"), "--many"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                cwd=self.app,
                env=without_secrets(),  # the project's code runs there: none of our secrets
            )
        except OSError as exc:
            raise cannot_run(self.interpreter, exc) from None
        self.started += 1
        self.asked = 0
        self.started_at = time.time()
        self._lines = queue.Queue()
        stdout = process.stdout
        assert stdout is not None
        threading.Thread(target=self._read, args=(stdout, self._lines), daemon=True).start()
        return process

    @staticmethod
    def _read(stdout: IO[str], lines: queue.Queue[str | None]) -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)  # the interpreter ended

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The interpreter's answer to one request (the JSON `inprocess.py` writes)."""
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._process = self._start()
        assert self._process.stdin is not None
        self.asked += 1
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self._process.kill()  # as a fresh interpreter's would be: at the timeout
            self.close()
            raise WorkbenchError(
                f"{self.interpreter} did not answer within {timeout:.0f} s."
            ) from None
        except OSError:
            line = None  # it ended before reading the request
        try:
            payload: dict[str, Any] = json.loads(line or "")
        except json.JSONDecodeError:
            said = self._stderr_text()
            self.close()
            raise not_python(self.interpreter, said) from None
        return payload

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                try:
                    process.stdin.close()  # its loop ends: it exits
                except OSError:
                    pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def open_session(manifest: Manifest) -> ModelSession | None:
    """The session open for this project and interpreter in this context, if any."""
    session = _OPEN.get()
    if session is None or session.root != manifest.root:
        return None
    return session if session.interpreter == manifest.interpreter() else None


@contextmanager
def model_session(manifest: Manifest) -> Iterator[ModelSession]:
    """Questions to this project's model inside the block share one staged model folder and
    one interpreter (started at the first question not already answered; ended after)."""
    with staged_model(manifest) as app:
        session = ModelSession(manifest, app)
        token = _OPEN.set(session)
        try:
            yield session
        finally:
            _OPEN.reset(token)
            session.close()

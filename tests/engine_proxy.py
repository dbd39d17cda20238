"""A stand-in for the path to the Docker engine that a test can cut or pause: a unix socket
forwarding to the real engine's socket (DOCKER_HOST points at it).

`cut()` closes every connection and refuses new ones (the engine gone); `pause()` keeps
connections open but forwards nothing (the engine hung); `restore()` forwards again.
Every thread is a daemon and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

ENGINE_SOCKET = "/var/run/docker.sock"


class EngineProxy:
    def __init__(self, folder: Path, target: str = ENGINE_SOCKET) -> None:
        self.path = folder / "engine.sock"
        self.target = target
        self.cut_off = threading.Event()
        self.paused = threading.Event()
        self._open: set[socket.socket] = set()
        self._guard = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def cut(self) -> None:
        self.cut_off.set()
        with self._guard:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def pause(self) -> None:
        self.paused.set()

    def restore(self) -> None:
        self.cut_off.clear()
        self.paused.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                engine.connect(self.target)
            except OSError:
                client.close()
                continue
            with self._guard:
                self._open.update((client, engine))
            for source, sink in ((client, engine), (engine, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self.cut_off.is_set():
                data = source.recv(65536)
                if not data:
                    break
                while self.paused.is_set() and not self.cut_off.is_set():
                    time.sleep(0.05)  # hung: hold the bytes until restored or cut
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

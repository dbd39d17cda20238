"""Work in progress, from a worker thread to the screen: log lines batched at most every
0.25 s (a build's output arrives line by line)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from screens.messages import CheckLog

if TYPE_CHECKING:
    from textual.screen import Screen


class LogBatcher:
    """Collects log lines from a worker thread; hands them over at most every 0.25 s."""

    def __init__(self, screen: Screen[None], interval: float = 0.25) -> None:
        self.screen = screen
        self.interval = interval
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.last = 0.0

    def __call__(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            lines, self.lines = self.lines, []
        self.last = time.monotonic()
        if lines:
            self.screen.post_message(CheckLog(lines))

"""One error type for everything a user can fix.

Every failure the user can act on is a `WorkbenchError` whose text is one
paragraph: what went wrong, where (file, line, field), and how to fix it. The
CLI prints it without a traceback; the TUI shows it as a notice.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """A problem the user can fix; `str()` is the whole paragraph shown to them."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message.strip()
        self.fix = fix.strip() if fix else None
        super().__init__(self.paragraph)

    @property
    def paragraph(self) -> str:
        if self.fix:
            return f"{self.message} Fix: {self.fix}"
        return self.message


class ManifestError(WorkbenchError):
    """`workbench.yaml` cannot be read or does not describe a usable project."""


class UnavailableError(WorkbenchError):
    """A real part (Docker engine, base image, registry) is not available."""

"""workbench: take a trained model to a pushed, versioned container image.

This package is the domain. It never imports Textual, Typer or Rich, so the
CLI (`commands/`) and the TUI (`screens/`) stay two thin faces over it.
"""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The installed version; read on demand (importlib.metadata is slow to import)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("workbench")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return version()
    raise AttributeError(name)

"""workbench: take a trained model to a pushed, versioned container image.

This package is the domain. It never imports Textual, Typer or Rich, so the
CLI (`commands/`) and the TUI (`screens/`) stay two thin faces over it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("workbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

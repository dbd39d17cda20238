"""Where things live: the shipped assets, the user's cache, a project's scratch.

Assets are found in exactly one place. From an installed wheel they sit inside
the package as `workbench/_assets` (hatch force-includes the top-level
`assets/` there); from a source checkout or an editable install they are the
top-level `assets/` folder beside the package.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # workbench/


@cache
def assets_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "_assets", _PACKAGE_DIR.parent / "assets"):
        if (candidate / "examples").is_dir():
            return candidate
    raise RuntimeError(
        f"workbench's assets are missing: neither {_PACKAGE_DIR / '_assets'} nor "
        f"{_PACKAGE_DIR.parent / 'assets'} exists; reinstall workbench."
    )


def asset(*parts: str) -> Path:
    return assets_dir().joinpath(*parts)


def examples_dir() -> Path:
    return asset("examples")


def runtime_dir() -> Path:
    """The serving runtime's files: copied into images, run in the model's interpreter."""
    return _PACKAGE_DIR / "runtime"


def config_dir() -> Path:
    """The user's settings (the TUI's theme)."""
    override = os.environ.get("WORKBENCH_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir  # only when settings are read (import cost)

    return Path(user_config_dir("workbench", appauthor=False))


def cache_dir() -> Path:
    """The user's cache (wheels, the stand-in base image's root file system)."""
    override = os.environ.get("WORKBENCH_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir  # only when the cache is used (import cost)

    return Path(user_cache_dir("workbench", appauthor=False))


def scratch_dir(project_root: Path, *parts: str, what: str = "the workbench's scratch") -> Path:
    """Build contexts and logs for one project (`.workbench/<parts>`, a folder, made when
    missing); ignored by git. Refused when it or a folder above it in the project is a
    symlink or not a folder (a cloned repository may commit one)."""
    from workbench.kernel.confine import scratch_path

    return scratch_path(project_root, *parts, what=what, folder=True)

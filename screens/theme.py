"""The theme a person chose in the TUI, remembered in the user's settings (tui.json)."""

from __future__ import annotations

import json
from pathlib import Path


def theme_file() -> Path:
    from workbench.kernel.paths import config_dir

    return config_dir() / "tui.json"


def load_theme() -> str | None:
    try:
        value = json.loads(theme_file().read_text()).get("theme")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def save_theme(theme: str) -> None:
    from workbench.kernel.atomic import write_text_atomic

    try:
        theme_file().parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(theme_file(), json.dumps({"theme": theme}) + "\n")
    except OSError:
        pass  # a read-only home: the theme is simply not remembered

"""The theme a person chose in the TUI, remembered in the user's settings (tui.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.color import Color, ColorParseError

if TYPE_CHECKING:
    from textual.app import App


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


# Statuses and verdicts take the theme's text colours (`$text-success` and kin), which
# Textual derives per theme to be readable on that theme's background: fixed Rich
# colours ("green", "yellow") were unreadable on the light themes.
TONE_VARIABLES = {
    "ok": "text-success",
    "bad": "text-error",
    "warn": "text-warning",
    "busy": "text-primary",
    "stale": "text-secondary",
}
STATUS_TONES = {
    "pass": "ok",
    "fail": "bad",
    "warn": "warn",
    "skipped": "muted",
    "pending": "busy",
    "stale": "stale",
}
FALLBACK = {"ok": "green", "bad": "red", "warn": "yellow", "busy": "cyan", "stale": "magenta"}


@dataclass(frozen=True)
class Palette:
    """Rich styles for one theme, by meaning; valid both in Rich markup (tables, bars)
    and in Textual's markup."""

    ok: str
    bad: str
    warn: str
    busy: str
    stale: str
    muted: str = "dim"

    def status(self, status: str) -> str:
        """The style of a checklist status (a failure is bold as well)."""
        style: str = getattr(self, STATUS_TONES.get(status, "muted"))
        return f"bold {style}" if status == "fail" else style


_palettes: dict[str, Palette] = {}


def palette(app: App[Any]) -> Palette:
    """The palette of the app's current theme (computed once per theme)."""
    found = _palettes.get(app.theme)
    if found is None:
        variables = app.get_css_variables()
        tones = {}
        for tone, variable in TONE_VARIABLES.items():
            colour = variables.get(variable, "")
            try:
                Color.parse(colour)
            except ColorParseError:  # e.g. "auto 60%": keep the terminal's own colour
                colour = FALLBACK[tone]
            tones[tone] = colour
        found = _palettes[app.theme] = Palette(**tones)
    return found

"""What a run of checks says as it goes, and who is at the keyboard."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from workbench.checklist.scoring import ItemView
from workbench.kernel import git


@dataclass(frozen=True)
class ItemStarted:
    item_id: str


@dataclass(frozen=True)
class ItemFinished:
    item_id: str
    view: ItemView


@dataclass(frozen=True)
class RunCancelled:
    item_id: str


RunEvent = ItemStarted | ItemFinished | RunCancelled


def current_user(root: Path | None = None) -> str:
    """Who is at the keyboard: git's user.name, else the login name."""
    name = git.config(root or Path.cwd(), "user.name")
    return name or getpass.getuser()

"""The typed way from a screen to the app: what screens may ask of `WorkbenchApp`.

A Protocol rather than an import of the app: `screens.app` imports the step
screens, so they cannot import it back without a cycle (posting reaches its app
through `cast("Posting", self.app)` for the same reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.dom import DOMNode
from textual.worker import Worker

if TYPE_CHECKING:
    from screens.theme import Palette
    from workbench.checklist.engine import Checklist, ItemView, StepSummary
    from workbench.checklist.standing import Standing
    from workbench.project.manifest import Manifest


class Workbench(Protocol):
    """The app as its screens see it. What it shows is read-only here: screens render the
    standing, and change the checklist only through `change_checklist` (a worker)."""

    manifest: Manifest
    reviewer: str | None
    quitting: bool  # `q` over running work: it is being cancelled; nothing new starts
    release_line: str
    release_rows: list[dict[str, Any]]

    @property
    def standing(self) -> Standing: ...

    @property
    def views(self) -> Mapping[str, ItemView]: ...

    @property
    def summaries(self) -> tuple[StepSummary, ...]: ...

    @property
    def checklist(self) -> Checklist: ...

    @property
    def loaded(self) -> bool: ...

    def reload_checklist(self) -> None: ...

    def change_checklist(
        self,
        change: Callable[[Checklist], object],
        then: Callable[[Any], object] | None = None,
        *,
        refused: str | None = None,
    ) -> None: ...

    def open_step(self, step: str) -> None: ...

    def open_release(self, version: str | None, action: str | None) -> None: ...

    def unless_unsaved(self, then: Callable[[], object]) -> None: ...

    def action_sign_off(self) -> None: ...

    def worker_failed(self, worker: Worker[object], where: DOMNode) -> None: ...


def workbench(node: DOMNode) -> Workbench:
    return cast("Workbench", node.app)


def tones(node: DOMNode) -> Palette:
    """The current theme's colours by meaning (ok, bad, warn, busy, stale, muted)."""
    from screens.theme import palette

    return palette(node.app)

"""The checklist of one project: statuses, scores, gates, runs, ticks, waivers, sign-offs.

Scoring follows the ML Test Score (see `scoring`). Readers get immutable values: a
`Standing` (the interface), a `GateReport` (a step that releases, through the
`Gatekeeper` port of `gate`); measuring inputs (files, git, Docker) never holds the lock.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from workbench.checklist.checks import AutoCheck, CheckContext, CheckResult, Status, too_old
from workbench.checklist.definitions import STEPS, Item, load_definitions
from workbench.checklist.events import (
    ItemFinished,
    ItemStarted,
    RunCancelled,
    RunEvent,
    current_user,
)
from workbench.checklist.gate import GateReport
from workbench.checklist.inputs import Measured, changed, measure
from workbench.checklist.manual import manual_view
from workbench.checklist.moves import release_facts
from workbench.checklist.scoring import ItemView, Readiness, StepSummary, readiness, summarise
from workbench.checklist.signoff import bind_signoff
from workbench.checklist.standing import Standing
from workbench.checklist.state import (
    ANSWERS,
    ChecklistState,
    ManualTick,
    SignOff,
    StoredResult,
    Waiver,
    load_state,
    save_state,
)
from workbench.kernel.cancel import Cancelled
from workbench.kernel.clock import now
from workbench.kernel.errors import UnavailableError, WorkbenchError
from workbench.kernel.lock import project_lock
from workbench.project.manifest import Manifest

F = TypeVar("F", bound=Callable[..., Any])
# The run's events are re-exported: the faces import them from here.
__all__ = ["Checklist", "ItemFinished", "ItemStarted", "RunCancelled", "RunEvent", "current_user"]


def _locked(method: F) -> F:
    """Run a method of `Checklist` under its lock (state is shared with a worker thread)."""

    @functools.wraps(method)
    def wrapper(self: Checklist, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass
class Checklist:
    """The checklist engine on one project; the TUI, CLI and reports all use this.

    It is handed its auto checks (`workbench.steps.open_checklist` does that). One lock
    guards its state (a worker runs checks while another ticks); it is held only to read
    or write the state, never while inputs are measured."""

    manifest: Manifest
    checks: dict[str, AutoCheck]
    pair: tuple[str, str] | None = None
    user: str | None = None
    # What a manual item's question is about now (None: not bound to anything).
    subject: Callable[[Manifest, str], list[str] | None] = lambda manifest, item_id: None
    # Why `workbench tag` would refuse the tested change already (tag.no-regression), if so.
    refusal: Callable[[Manifest, Mapping[str, ItemView]], str | None] = lambda m, views: None
    items: list[Item] = field(init=False)
    state: ChecklistState = field(init=False)
    _fingerprints: dict[str, Measured] = field(init=False, default_factory=dict)
    # Items this process asked to check and could not (the engine away): their last result is
    # kept but never shown as fresh, whatever its fingerprint says.
    _unchecked: dict[str, str] = field(init=False, default_factory=dict)
    _lock: threading.RLock = field(init=False, default_factory=threading.RLock)
    _serials: itertools.count[int] = field(init=False, default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.items = load_definitions(
            [self.manifest.resolve(p) for p in self.manifest.checklist.extra],
            self.manifest.checklist.disable,
            known_checks=set(self.checks),
        )
        missing = [i.id for i in self.items if i.is_auto and i.id not in self.checks]
        if missing:
            raise WorkbenchError(f"auto checklist items without a check: {', '.join(missing)}.")
        self.state = load_state(self.manifest.root)

    # --- who -------------------------------------------------------------------------------

    @property
    def driver(self) -> str:
        if self.pair:
            return self.pair[0]
        if self.user is None:
            self.user = current_user(self.manifest.root)
        return self.user

    @property
    def navigator(self) -> str | None:
        return self.pair[1] if self.pair else None

    # --- reading ---------------------------------------------------------------------------

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        ids = [i.id for i in self.items]
        close = [i for i in ids if item_id in i] or difflib.get_close_matches(item_id, ids, 3)
        hint = f" Did you mean {', '.join(close[:3])}?" if close else ""
        raise WorkbenchError(
            f"there is no checklist item `{item_id}`.{hint}",
            fix="list the items with `workbench check --no-run`.",
        )

    def refresh(self) -> None:
        """Measure every auto item's inputs again (they may have changed on disk) and reload
        the state. The measuring reads files and asks git and Docker: it runs outside the
        lock, so a tick on another thread never waits for it."""
        measured = self._measure(self.auto_ids())
        with self._lock:
            self._fingerprints = measured
            self.state = load_state(self.manifest.root)

    def _measure(self, item_ids: list[str], missing: bool = False) -> dict[str, Measured]:
        """Their inputs' fingerprints now, in one context (what several read is read once);
        `missing`: only those not measured yet, kept."""
        wanted = [i for i in item_ids if not (missing and i in self._fingerprints)]
        measured = measure(self.checks, CheckContext(self.manifest), wanted)
        if missing:
            self._fingerprints.update(measured)
        return measured

    @_locked
    def current_fingerprint(self, item_id: str) -> str:
        self._measure([item_id], missing=True)
        return self._fingerprints[item_id].fingerprint

    @_locked
    def view(self, item_id: str) -> ItemView:
        item = self.item(item_id)
        waiver = self.state.waivers.get(item_id)
        if item.is_auto:
            return self._auto_view(item, waiver)
        return self._manual_view(item, waiver)

    def _auto_view(self, item: Item, waiver: Waiver | None) -> ItemView:
        result = self.state.results.get(item.id)
        if result is None:
            why = self._unchecked.get(item.id)
            said = f"not checked now ({why})" if why else "not run yet"
            return ItemView(item, Status.PENDING, 0.0, True, [], said, waiver=waiver)
        status = Status(result.status)
        stale: str | None
        if item.id in self._unchecked:  # asked now and could not: never shown as fresh
            stale = (
                f"not checked now ({self._unchecked[item.id]}); the last result, "
                f"{status.value} at {result.checked_at}, is kept but not vouched for"
            )
        elif result.fingerprint != self.current_fingerprint(item.id):
            names = changed(result.inputs, self._fingerprints[item.id].digests)
            said = f": {', '.join(names)}" if names else ""
            stale = f"inputs changed since the check ran ({result.checked_at}){said}"
        elif status is Status.SKIPPED:  # skipped for a reason its inputs hold (no deploy)
            stale = None
        else:
            stale = too_old(result.checked_at, self.checks[item.id].max_age)
        if stale is not None:
            return ItemView(
                item, Status.STALE, 0.0, True, result.evidence, stale, result=result, waiver=waiver
            )
        score = {Status.PASS: 1.0, Status.WARN: 0.5}.get(status, 0.0)
        # a skip counts against the step only when the item was not tried here (unverified)
        counted = status is not Status.SKIPPED or result.unverified
        return ItemView(
            item,
            status,
            score,
            counted,
            result.evidence,
            f"checked {result.checked_at}",
            result=result,
            waiver=waiver,
        )

    def _manual_view(self, item: Item, waiver: Waiver | None) -> ItemView:
        tick = self.state.ticks.get(item.id)
        about = self.subject(self.manifest, item.id) if tick else None
        return manual_view(item, tick, waiver, about)

    @_locked
    def views(self, step: str | None = None) -> list[ItemView]:
        chosen = [i for i in self.items if step is None or i.step == step]
        self._measure([i.id for i in chosen if i.id in self.state.results], missing=True)
        return [self.view(i.id) for i in chosen]

    @_locked
    def summary(self, step: str) -> StepSummary:
        return summarise(step, self.views(step))

    @_locked
    def summaries(self) -> list[StepSummary]:
        self._measure([i for i in self.auto_ids() if i in self.state.results], missing=True)
        return [self.summary(step) for step in STEPS]

    def readiness(self, summaries: list[StepSummary] | None = None) -> Readiness:
        return readiness(summaries or self.summaries())

    def next_action(self) -> str:
        """The next move as the CLI says it: what, and the command that does it."""
        return self.standing().move.line

    def standing(self, *, remeasure: bool = False) -> Standing:
        """Every view, summary, readiness and the next action, as one immutable value. With
        `remeasure`, inputs are measured again first (outside the lock, see `refresh`)."""
        if remeasure:
            self.refresh()
        with self._lock:
            views = self.views()
            serial = next(self._serials)
        by_id = {v.item.id: v for v in views}
        facts = release_facts(self.manifest, by_id)
        if facts is not None and facts.changed:
            facts = replace(facts, refused=self.refusal(self.manifest, by_id) or "")
        return Standing.of(serial, views, facts)

    # --- the gate port (`workbench.checklist.gate.Gatekeeper`) ------------------------------

    def gate_report(self, steps: tuple[str, ...]) -> GateReport:
        self.refresh()
        return self._gate_report(steps)

    def require(self, steps: tuple[str, ...], action: str) -> GateReport:
        return self._gate_report(steps).require(action)

    @_locked
    def _gate_report(self, steps: tuple[str, ...]) -> GateReport:
        views = [self.view(i.id) for i in self.items if i.step in steps]
        people = (self.driver, self.navigator)
        return GateReport.of(self.manifest.name, steps, views, self.state.waivers, people)

    def blockers(self, steps: tuple[str, ...]) -> list[ItemView]:
        return list(self._gate_report(steps).blockers)

    def require_gates(self, steps: tuple[str, ...], action: str) -> None:
        """Raise unless every gate item of `steps` is fresh and passing, or waived."""
        self.require(steps, action)

    # --- running ---------------------------------------------------------------------------

    def auto_ids(self, step: str | None = None) -> list[str]:
        return [i.id for i in self.items if i.is_auto and (step is None or i.step == step)]

    def run(self, item_ids: list[str], ctx: CheckContext) -> Iterator[RunEvent]:
        """Run auto checks one by one, saving after each; stops early when cancelled."""
        for item_id in item_ids:
            check = self.checks[self.item(item_id).id]
            if ctx.cancel.is_set():
                yield RunCancelled(item_id)
                return
            yield ItemStarted(item_id)
            stamp = self._remeasure([item_id])[item_id]
            try:
                result = check.run(ctx)
            except Cancelled:
                yield RunCancelled(item_id)
                return
            except UnavailableError as exc:
                # The engine (or another real part) is away: that says nothing about the
                # item, so its last result stays, but shown stale: never as if just run.
                self._unchecked[item_id] = exc.message.rstrip(".")
                yield ItemFinished(item_id, self.view(item_id))
                continue
            except WorkbenchError as exc:
                result = CheckResult.failed(exc.paragraph)
            except Exception as exc:
                result = CheckResult.failed(
                    f"the check itself crashed: {type(exc).__name__}: {exc}"
                )
            yield ItemFinished(item_id, self._store({item_id: (stamp, result)})[0])

    def record(self, results: dict[str, CheckResult]) -> list[ItemView]:
        """Store results computed outside `run` (the release candidate's serve test), each
        stamped with its item's inputs as they are now."""
        for item_id in results:
            self.item(item_id)
        stamps = self._remeasure(list(results))
        return self._store({i: (stamps[i], r) for i, r in results.items()})

    def _remeasure(self, item_ids: list[str]) -> dict[str, Measured]:
        """Measure these items' inputs (outside the lock) and keep what was measured."""
        measured = self._measure(item_ids)
        with self._lock:
            self._fingerprints.update(measured)
        return measured

    def _store(self, results: dict[str, tuple[Measured, CheckResult]]) -> list[ItemView]:
        with self.writing("recording check results"):
            for item_id, (stamp, result) in results.items():
                self._unchecked.pop(item_id, None)  # checked now: its own result speaks
                self.state.results[item_id] = StoredResult(
                    status=result.status.value,
                    fingerprint=stamp.fingerprint,
                    inputs=stamp.digests,
                    checked_at=now(),
                    evidence=result.evidence,
                    details=result.details,
                    unverified=result.unverified,
                )
        return [self.view(item_id) for item_id in results]

    @contextlib.contextmanager
    def writing(self, what: str) -> Iterator[None]:
        """Change the state: under the project's state lock (other commands, other threads),
        on the state as it is on disk now, saved at the end. Two `workbench tick`s at once
        both land."""
        with self._lock, project_lock(self.manifest.root, "state", what):
            self.state = load_state(self.manifest.root)
            yield
            save_state(self.manifest.root, self.state, [i.id for i in self.items])

    @_locked
    def tick(self, item_id: str, answer: str, note: str | None = None) -> ItemView:
        item = self.item(item_id)
        if item.is_auto:
            raise WorkbenchError(
                f"`{item_id}` is checked by the tool; it cannot be ticked.",
                fix="run it with `workbench check`, or waive it.",
            )
        if answer not in ANSWERS:
            raise WorkbenchError(f"`{answer}` is not an answer.", fix="answer yes, no or n/a.")
        if item.gate and answer != "no" and not (note or "").strip():
            # A gate passed (or set aside as n/a) on a bare word is a claim nobody can check.
            raise WorkbenchError(
                f"`{item_id}` is a gate: a {answer} needs a note saying what you looked at "
                f"({item.question})",
                fix=f'answer with a note: `workbench tick {item_id} {answer} -m "what you '
                'checked"`.',
            )
        with self.writing(f"ticking {item_id}"):
            self.state.ticks[item_id] = ManualTick(
                answer=answer,
                by=self.driver,
                at=now(),
                note=(note or "").strip() or None,
                navigator=self.navigator,
                about=self.subject(self.manifest, item_id),
            )
        return self.view(item_id)

    @_locked
    def confirm(self, item_id: str, by: str) -> ItemView:
        """The navigator confirms the driver's tick of a gate item (pair mode)."""
        with self.writing(f"confirming {item_id}"):
            tick = self.state.ticks.get(item_id)
            if tick is None:
                raise WorkbenchError(f"`{item_id}` has not been answered yet; nothing to confirm.")
            if self._manual_view(self.item(item_id), None).status is Status.STALE:
                raise WorkbenchError(
                    f"`{item_id}` was answered about something that has changed since; "
                    "there is nothing current to confirm.",
                    fix=f"the driver answers it again (`workbench tick {item_id} ...`).",
                )
            if tick.navigator and by != tick.navigator:
                raise WorkbenchError(
                    f"`{item_id}` waits for {tick.navigator}'s confirmation, not {by}'s.",
                    fix="the navigator named in pair mode confirms.",
                )
            tick.confirmed_by, tick.confirmed_at = by, now()
        return self.view(item_id)

    @_locked
    def waive(self, item_id: str, reason: str) -> ItemView:
        self.item(item_id)
        if len(reason.strip()) < 10:
            raise WorkbenchError(
                "a waiver needs a written reason (at least 10 characters); it goes into the "
                "release manifest.",
                fix="say why it is safe to go on without this item.",
            )
        with self.writing(f"waiving {item_id}"):
            self.state.waivers[item_id] = Waiver(reason=reason.strip(), by=self.driver, at=now())
        return self.view(item_id)

    @_locked
    def unwaive(self, item_id: str) -> None:
        with self.writing(f"removing the waiver of {item_id}"):
            self.state.waivers.pop(item_id, None)

    @_locked
    def sign_off(
        self,
        by: str,
        decision: str,
        note: str | None = None,
        *,
        release: str | None = None,
        despite: str | None = None,
    ) -> SignOff:
        """Record a reviewer's decision on a release (see `signoff.bind_signoff`)."""
        signoff = bind_signoff(self.manifest, by, decision, note, release=release, despite=despite)
        with self.writing("recording a sign-off"):
            self.state.signoffs.append(signoff)
        return signoff

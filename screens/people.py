"""Who is at the keyboard: pair mode, review mode, and a reviewer's sign-off.

The sign-off reads the release's frozen checklist in a worker (files are read and
hashed) and records the decision in another (the engine's lock is never taken on the
interface thread); what needs a reason to approve is the frozen record's own rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screens.dialogs import SignOffDialog, TextPrompt
from workbench.kernel.errors import WorkbenchError

if TYPE_CHECKING:
    from screens.app import WorkbenchApp
    from workbench.checklist.engine import Checklist
    from workbench.checklist.state import SignOff


def ask_pair(app: WorkbenchApp) -> None:
    def done(value: str | None) -> None:
        if not value:
            return
        names = [n.strip() for n in value.split(",")]
        if len(names) != 2 or not all(names) or names[0] == names[1]:
            app.notify('Write two different names: "Driver, Navigator".', severity="error")
            return
        app.set_pair((names[0], names[1]))
        app.notify(
            f"Pair mode: {names[0]} drives, {names[1]} navigates and confirms gate ticks (c)."
        )

    me = _me(app)
    prompt = TextPrompt(
        "Pair mode: driver, navigator",
        "e.g. Ana, Ben",
        value=f"{me}, " if me else "",
        required='Write two names, the driver first: e.g. "Ana, Ben" (Escape cancels).',
        select=False,  # the driver is filled in: the navigator is typed after it
    )
    app.push_screen(prompt, done)


def ask_reviewer(app: WorkbenchApp) -> None:
    def done(name: str | None) -> None:
        if name:
            app.set_reviewer(name)
            app.notify(f"Review mode: read-only for {name}; s signs off.")

    prompt = TextPrompt(
        "Review mode: your name",
        "e.g. Rita",
        value=_me(app),
        required="Write your name: it is recorded with your sign-off (Escape cancels).",
    )
    app.push_screen(prompt, done)


def _me(app: WorkbenchApp) -> str:
    """Who is at the keyboard, to prefill a name: the app's user, else the checklist's
    (git's user.name, read once by the load worker's checklist), else nothing."""
    if app.user:
        return app.user
    return app.checklist.driver if app.loaded else ""


def sign_off(app: WorkbenchApp) -> None:
    if not app.loaded:
        return
    if app.reviewer is None:
        app.notify(
            "Sign-off is for review mode (start it from the command palette).",
            severity="warning",
        )
        return
    reviewer = app.reviewer
    app.run_worker(
        lambda: _read_release(app, reviewer),
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="signoff",
        description="reading the release to sign off",
    )


def _read_release(app: WorkbenchApp, reviewer: str) -> None:
    """In a worker: the latest release and what its frozen checklist says."""
    from workbench.checklist.frozen import load_frozen
    from workbench.project.releases import last_version

    try:
        version = last_version(app.manifest)
        if version is None:
            raise WorkbenchError(
                "there is no release to sign off yet: a sign-off approves a release.",
                fix="tag one first.",
            )
        frozen, _ = load_frozen(app.manifest, version)
    except WorkbenchError as exc:
        app.call_from_thread(app.notify, exc.paragraph, severity="warning", timeout=10)
        return
    problems = frozen.objections()
    summary = f"readiness of its gated steps {frozen.readiness.text}" + (
        f"; blocking or stale: {', '.join(problems)}" if problems else "; every gate passed"
    )
    app.call_from_thread(_ask, app, reviewer, version, summary)


def _ask(app: WorkbenchApp, reviewer: str, version: str, summary: str) -> None:
    def done(answer: tuple[str, str, str] | None) -> None:
        if answer is None:
            return
        decision, note, despite = answer

        def record(checklist: Checklist) -> SignOff:
            return checklist.sign_off(
                reviewer, decision, note or None, release=version, despite=despite or None
            )

        app.change_checklist(record, lambda signoff: _said(app, signoff), refused="Not signed")

    app.push_screen(SignOffDialog(reviewer, version, summary), done)


def _said(app: WorkbenchApp, signoff: SignOff) -> None:
    app.notify(
        f"Signed off: {signoff.by} {signoff.decision} release {signoff.release} "
        f"({signoff.revision}); recorded in checklist.yaml."
    )

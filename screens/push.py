"""The Push step: the generic checklist plus pushing, promoting and rolling back, with the
releases in a table (and deploying, from screens.deploy)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets.data_table import RowDoesNotExist

from screens.deploy import DeployAction
from screens.dialogs import Confirm, MoveChannel, PickChannel, TextPrompt
from screens.messages import LayerUpdate
from screens.push_panel import PushPanel
from screens.release_panel import ReleaseTable
from screens.step import StepScreen
from workbench.checklist.engine import current_user

# Where the push put the signature, SBOM and provenance (`Pushed.attached_by`).
ATTACHED = {
    "referrers": "through the registry's referrers API",
    "tags": "under cosign's fallback tags: the registry has no referrers API",
}


class PushScreen(DeployAction):
    """Push, promote and roll back, with the releases in a table: version, when and by whom,
    tagged, pushed, digest, channels. Every action says what moves where and waits for a
    yes; promote and roll back choose from lists of real versions and channels."""

    BINDINGS = [
        Binding("p", "push_release", "Push", id="push.push"),
        Binding("o", "promote", "Promote", id="push.promote"),
        Binding("b", "rollback", "Roll back", id="push.rollback"),
        Binding("d", "deploy", "Deploy", id="push.deploy"),
        # Still there (help lists them), but the footer keeps room for the release actions.
        Binding("y", "tick_yes", "Yes", id="push.yes", show=False),
        Binding("n", "tick_no", "No", id="push.no", show=False),
    ]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {
        "push_release",
        "promote",
        "rollback",
        "deploy",
    }

    def compose(self) -> ComposeResult:
        yield from super().compose()
        table = ReleaseTable(id="releases")
        table.border_subtitle = "p push · o promote · b roll back: the selected release"
        yield table
        yield PushPanel(id="layers")

    def update_from_checklist(self) -> None:
        super().update_from_checklist()
        self.query_one(ReleaseTable).show(self.workbench.release_rows)

    # --- push ---------------------------------------------------------------------------------

    def selected_release(self) -> dict[str, Any] | None:
        """The release the actions act on: the releases table's selected row (the newest
        until a person moves to another with j / k)."""
        rows = {str(row["version"]): row for row in self.workbench.release_rows}
        version = self.query_one(ReleaseTable).selected_version()
        if version is None:  # the table not drawn yet: the newest
            return self.workbench.release_rows[0] if rows else None
        return rows.get(version)

    def select_newest_release(self) -> None:
        """Space pushes and promotes the latest release, whichever row was selected."""
        self.query_one(ReleaseTable).move_cursor(row=0, animate=False)

    def act_on_release(self, version: str | None, action: str | None) -> None:
        """Select this release's row (opened from home's release table), then act on it."""
        table = self.query_one(ReleaseTable)
        if version is not None:
            with contextlib.suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(version), animate=False)
        table.focus()
        if not action:
            return
        if self.check_action(action, ()):
            getattr(self, f"action_{action}")()
        else:  # a reviewer's session: releases are read, not moved
            self.notify(f"Not in a review: {action.replace('_', ' ')} is for the releaser.")

    def action_push_release(self) -> None:
        manifest = self.checklist.manifest
        row = self.selected_release()
        if row is None:
            self.notify("No release to push yet: tag one in step 4 (t).", severity="warning")
            return
        version = row["version"]
        which = "the latest release" if row is self.workbench.release_rows[0] else version
        where = manifest.registry or "(no registry set: workbench.yaml `registry:`)"

        def start(passphrase: str | None) -> None:
            if self.begin(f"pushing {which}"):
                self.query_one(PushPanel).start(f"push {manifest.name}:{version} -> {where}")
                self._push(version, passphrase)

        def answered(yes: bool | None) -> None:
            if yes:
                self._with_passphrase(start)

        self.app.push_screen(
            Confirm(
                f"Push {which}",
                f"{manifest.name}:{version} -> {where}\nthen verify the digest the registry "
                "reports against the tested image.",
                yes="Push",
            ),
            answered,
        )

    def _with_passphrase(self, then: Callable[[str | None], None]) -> None:
        """`then(passphrase)`: from WORKBENCH_SIGNING_PASSPHRASE, else typed into a masked
        field when this user will sign; None when nothing will be signed. The passphrase is
        handed to the push and kept nowhere (no log, no notice, no file)."""
        from workbench.kernel.errors import WorkbenchError
        from workbench.steps.push.keys import passphrase_from_environment
        from workbench.steps.push.signing import key_to_sign_with

        try:
            key = key_to_sign_with(self.checklist.manifest)
        except WorkbenchError:
            key = None  # signing required and impossible: the push refuses and says why
        given = passphrase_from_environment()
        if key is None or given:
            then(given)
            return

        def typed(answer: str | None) -> None:
            if answer:
                then(answer)
            else:
                self.notify("Push cancelled: no passphrase for the signing key.")

        self.app.push_screen(
            TextPrompt(
                f"Passphrase of the signing key {key} (or set WORKBENCH_SIGNING_PASSPHRASE)",
                secret=True,
                required="The signing key needs its passphrase (Escape cancels the push).",
            ),
            typed,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="release", description="pushing")
    def _push(self, version: str, passphrase: str | None) -> None:
        from workbench.steps.push.publish import LayerProgress, Pushed, push_release

        def push() -> str:
            text = "nothing pushed"
            manifest = self.checklist.manifest
            pushing = push_release(
                manifest, version=version, cancel=self.cancel_event, passphrase=passphrase
            )
            for event in pushing:
                if isinstance(event, LayerProgress):
                    self.post_message(
                        LayerUpdate(event.layer, event.status, event.current, event.total)
                    )
                elif isinstance(event, Pushed):
                    text = (
                        f"{event.version} {'was already' if event.already else 'pushed and'} "
                        f"verified: {event.digest}; "
                        + (f"signed ({event.signature})" if event.signature else "not signed")
                        + (
                            f", attested ({event.attestations}, {ATTACHED[event.attached_by]})"
                            if event.attestations and event.attached_by in ATTACHED
                            else f", attested ({event.attestations})"
                            if event.attestations
                            else ""
                        )
                    )
            return text

        self.report(push)

    @on(LayerUpdate)
    def _layer(self, message: LayerUpdate) -> None:
        self.query_one(PushPanel).show(
            message.layer, message.status, message.current, message.total
        )

    # --- channels -----------------------------------------------------------------------------

    def action_promote(self) -> None:
        rows = self.workbench.release_rows
        pushed = [r["version"] for r in rows if r["pushed"]]
        if not pushed:
            self.notify("Nothing to promote: push a release first (p).", severity="warning")
            return
        row = self.selected_release()
        if row is not None and not row["pushed"]:
            self.notify(
                f"{row['version']} is not pushed: push it first (p), or select a pushed one.",
                severity="warning",
            )
            return
        chosen = row["version"] if row else None
        replays = self._replays(pushed)
        self._channels_then(
            lambda channels: self.app.push_screen(
                MoveChannel(
                    pushed,
                    {c: e.current for c, e in channels.items()},
                    chosen=chosen,
                    replays=replays,
                ),
                self._promote_chosen,
            )
        )

    def _replays(self, versions: list[str]) -> dict[tuple[str, str], str] | None:
        """What the last replay of each channel said of each version (promote shows it)."""
        from workbench.kernel.errors import WorkbenchError
        from workbench.steps.push.replay import headlines

        try:
            return headlines(self.checklist.manifest, versions)
        except WorkbenchError as exc:  # a replay record that does not read: said, not hidden
            self.notify(exc.paragraph, severity="warning", timeout=10)
            return None

    def _promote_chosen(self, choice: tuple[str, str] | None) -> None:
        if choice and self.begin(f"promoting {choice[0]} to {choice[1]}"):
            self._promote(*choice)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="release", description="promoting"
    )
    def _promote(self, version: str, channel: str) -> None:
        from workbench.kernel.errors import UnavailableError
        from workbench.steps.push.publish import promote
        from workbench.steps.push.rehearsal import ITEM, rehearse_all
        from workbench.steps.push.replay import require_replay

        def go() -> str:
            manifest = self.checklist.manifest
            require_replay(manifest, version, channel)  # the team's gate, before a rehearsal
            try:  # the way back, before the move; a promote needs no engine, only a registry
                rehearsed = rehearse_all(manifest, (channel, version))
            except UnavailableError as exc:
                rehearsed, way_back = None, f"way back not rehearsed: {exc.message}"
            digest = promote(manifest, version, channel, current_user(manifest.root))
            if rehearsed is not None:
                (view,) = self.checklist.record({ITEM: rehearsed})
                way_back = f"way back {view.status.value}: {rehearsed.evidence[0]}"
            return f"{channel} -> {version} ({digest}); {way_back}" + self._followed(channel)

        self.report(go)

    def _followed(self, channel: str) -> str:
        """What became of a deployed channel's monitoring files (nothing when undeployed)."""
        from workbench.steps.push.follow import follow

        done = follow(self.checklist.manifest, channel)
        return f"; monitoring: {done.said}" if done is not None else ""

    def action_rollback(self) -> None:
        from workbench.steps.push.publish import rollback_target

        row = self.selected_release()
        # The selected release's channels, when it is on any; else every channel.
        on = set(row.get("channels") or []) if row else set()

        def choose(channels: dict[str, Any]) -> None:
            moves = {}
            for name, entry in channels.items():
                target = rollback_target(entry)
                if target is not None and (not on or name in on):
                    moves[name] = f"{entry.current} -> {target}"
            if not moves:
                self.notify(
                    "No channel has an earlier release to roll back to.", severity="warning"
                )
                return
            self.app.push_screen(PickChannel(moves), self._rollback_chosen)

        self._channels_then(choose)

    def _rollback_chosen(self, channel: str | None) -> None:
        if channel and self.begin(f"rolling back {channel}"):
            self._rollback(channel)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="release",
        description="rolling back",
    )
    def _rollback(self, channel: str) -> None:
        from workbench.steps.push.publish import rollback

        def go() -> str:
            manifest = self.checklist.manifest
            version, digest = rollback(manifest, channel, current_user(manifest.root))
            return f"{channel} rolled back to {version} ({digest})" + self._followed(channel)

        self.report(go)

"""The Tag and Push steps: the generic checklist plus releasing, pushing, promoting."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, ProgressBar

from screens.dialogs import TextPrompt
from screens.messages import LayerUpdate, ReleaseDone
from screens.step import LogBatcher, StepScreen
from workbench.checklist.engine import current_user
from workbench.kernel.errors import WorkbenchError


class ReleaseStepScreen(StepScreen):
    """Shared by Tag and Push: a release action's outcome lands in the log."""

    @on(ReleaseDone)
    def _release_done(self, message: ReleaseDone) -> None:
        self.running = False
        self.log_line(("[green]" if message.ok else "[red]") + message.text + "[/]")
        self.notify(message.text, severity="information" if message.ok else "error", timeout=10)
        self.start_checks(self.checklist.auto_ids(self.step))

    def report(self, work_fn: Callable[[], str]) -> None:
        """Run `work_fn` here (a worker thread); its error becomes a notice, not a crash."""
        try:
            text = work_fn()
        except WorkbenchError as exc:
            self.post_message(ReleaseDone(exc.paragraph, ok=False))
        else:
            self.post_message(ReleaseDone(text))


class TagScreen(ReleaseStepScreen):
    BINDINGS = [Binding("t", "tag_release", "Tag release", id="tag.release")]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {"tag_release"}

    def action_tag_release(self) -> None:
        if self.begin("working out the next version"):
            self._suggest()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="release",
        description="suggesting a version",
    )
    def _suggest(self) -> None:
        from workbench.steps.tag.release import suggest

        try:
            suggestion = suggest(self.checklist.manifest)
        except WorkbenchError as exc:
            self.post_message(ReleaseDone(exc.paragraph, ok=False))
            return
        self.app.call_from_thread(
            self._ask_version, str(suggestion.version), f"{suggestion.level}: {suggestion.reason}"
        )

    def _ask_version(self, suggested: str, reason: str) -> None:
        self.log_line(f"suggested {suggested} ({reason})")

        def done(answer: str | None) -> None:
            if answer is None:
                self.running = False
                self.log_line("[yellow]tag cancelled[/]")
                return
            self._tag(answer or suggested)

        prompt = TextPrompt(f"Release version (suggested {suggested}; {reason[:60]})", suggested)
        self.app.push_screen(prompt, done)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="release",
        description="tagging the release",
    )
    def _tag(self, version: str) -> None:
        from workbench.steps.tag.release import create_release

        batcher = LogBatcher(self)  # the build's output arrives line by line: batch it

        def tag() -> str:
            try:
                release = create_release(
                    self.checklist,
                    version,
                    log=batcher,
                    detail=batcher,
                    cancel=self.cancel_event,
                )
            finally:
                batcher.flush()
            return f"released {release.version}: git tag {release.tag}, image {release.image_ref}"

        self.report(tag)


class PushScreen(ReleaseStepScreen):
    BINDINGS = [
        Binding("p", "push_release", "Push", id="push.push"),
        Binding("o", "promote", "Promote", id="push.promote"),
        Binding("b", "rollback", "Roll back", id="push.rollback"),
    ]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {"push_release", "promote", "rollback"}

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield VerticalScroll(id="layers")

    def action_push_release(self) -> None:
        if self.begin("pushing the latest release"):
            self.query_one("#layers").remove_children()
            self._push()

    @work(thread=True, exclusive=True, exit_on_error=False, group="release", description="pushing")
    def _push(self) -> None:
        from workbench.steps.push.publish import LayerProgress, Pushed, push_release

        def push() -> str:
            text = "nothing pushed"
            for event in push_release(self.checklist.manifest, cancel=self.cancel_event):
                if isinstance(event, LayerProgress):
                    self.post_message(
                        LayerUpdate(event.layer, event.status, event.current, event.total)
                    )
                elif isinstance(event, Pushed):
                    text = (
                        f"{event.version} {'was already' if event.already else 'pushed and'} "
                        f"verified: {event.digest}"
                    )
            return text

        self.report(push)

    @on(LayerUpdate)
    def _layer(self, message: LayerUpdate) -> None:
        layers = self.query_one("#layers")
        bar_id = f"layer-{message.layer}"
        found = layers.query(f"#{bar_id}")
        if found:
            bar = found.first(ProgressBar)
        else:
            layers.mount(Label(message.layer, id=f"label-{message.layer}"))
            bar = ProgressBar(id=bar_id, show_eta=False)
            layers.mount(bar)
        bar.update(total=message.total or None, progress=message.current)
        if message.status in ("Pushed", "Layer already exists"):
            bar.update(total=1, progress=1)

    def _ask(self, title: str, placeholder: str, then: Callable[[str], object]) -> None:
        def done(answer: str | None) -> None:
            if answer and self.begin(title):
                then(answer)

        self.app.push_screen(TextPrompt(title, placeholder), done)

    def action_promote(self) -> None:
        self._ask("Promote: VERSION CHANNEL", "1.0.0 production", self._promote)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="release", description="promoting"
    )
    def _promote(self, answer: str) -> None:
        from workbench.steps.push.publish import promote

        def go() -> str:
            version, _, channel = answer.partition(" ")
            if not channel.strip():
                raise WorkbenchError("write the version and the channel: `1.0.0 production`.")
            manifest = self.checklist.manifest
            digest = promote(
                manifest, version.strip(), channel.strip(), current_user(manifest.root)
            )
            return f"{channel.strip()} -> {version.strip()} ({digest})"

        self.report(go)

    def action_rollback(self) -> None:
        self._ask("Roll back which channel?", "production", self._rollback)

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
            version, digest = rollback(manifest, channel.strip(), current_user(manifest.root))
            return f"{channel.strip()} rolled back to {version} ({digest})"

        self.report(go)

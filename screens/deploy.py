"""Deploying a channel to Docker Swarm from the TUI (`d` in the Push step): the channel
chosen from those that point at a release, then a rolling update that rolls back by itself."""

from __future__ import annotations

from typing import Any

from textual import work

from screens.dialogs import PickChannel
from screens.progress import LogBatcher
from screens.step_action import ActionStepScreen
from workbench.checklist.engine import current_user
from workbench.kernel.errors import WorkbenchError


class DeployAction(ActionStepScreen):
    """The deploy action of a step screen (the Push step's)."""

    def action_deploy(self) -> None:
        from workbench.steps.push.swarm import service_name

        def choose(channels: dict[str, Any]) -> None:
            manifest = self.checklist.manifest
            summaries = {
                name: f"{entry.current} ({str(entry.digest)[:19]}) -> the swarm service "
                f"{service_name(manifest, name)}, 2 replicas, rolling update that rolls back "
                "on failure"
                for name, entry in channels.items()
                if entry.current and entry.digest
            }
            if not summaries:
                self.notify(
                    "No channel to deploy: promote a release first (o).", severity="warning"
                )
                return
            self.app.push_screen(
                PickChannel(summaries, title="Deploy a channel to Docker Swarm", action="Deploy"),
                self._deploy_chosen,
            )

        self._channels_then(choose)

    def _deploy_chosen(self, channel: str | None) -> None:
        if channel and self.begin(f"deploying {channel} to the swarm"):
            self._deploy(channel)

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="release", description="deploying"
    )
    def _deploy(self, channel: str) -> None:
        from workbench.steps.push import swarm

        batcher = LogBatcher(self)

        def go() -> str:
            manifest = self.checklist.manifest
            try:
                done = swarm.deploy(
                    manifest, channel, replicas=2, by=current_user(manifest.root), log=batcher
                )
            finally:
                batcher.flush()
            if done.result not in ("created", "updated", "scaled", "unchanged"):
                raise WorkbenchError(f"{done.service}: {done.result}: {done.message}")
            return f"{done.service}: {done.result}, {done.version} ({done.message})"

        self.report(go)

"""Which screen shows which step: the generic checklist, or its specialisation."""

from __future__ import annotations

from screens.step import StepScreen


def step_screen(step: str) -> StepScreen:
    # Imported when a step is first opened: the first paint needs only Home.
    from screens.push import PushScreen
    from screens.schema import SchemaStepScreen
    from screens.serve import ServeScreen
    from screens.snapshot import SnapshotScreen
    from screens.tag import TagScreen

    screens: dict[str, type[StepScreen]] = {
        "snapshot": SnapshotScreen,
        "schema": SchemaStepScreen,
        "serve": ServeScreen,
        "tag": TagScreen,
        "push": PushScreen,
    }
    return screens.get(step, StepScreen)(step)

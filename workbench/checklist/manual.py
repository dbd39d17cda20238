"""Manual items: how one stands, read from its tick."""

from __future__ import annotations

from workbench.checklist.checks import Status
from workbench.checklist.definitions import Item
from workbench.checklist.scoring import ItemView
from workbench.checklist.state import ManualTick, Waiver


def changed_subject(before: list[str], now: list[str]) -> str:
    added = sorted(set(now) - set(before))
    gone = sorted(set(before) - set(now))
    said = [f"{len(added)} new ({', '.join(added[:5])})" if added else "",
            f"{len(gone)} gone ({', '.join(gone[:5])})" if gone else ""]  # fmt: skip
    return "; ".join(s for s in said if s) or "its order or content changed"


def manual_view(
    item: Item, tick: ManualTick | None, waiver: Waiver | None, about: list[str] | None = None
) -> ItemView:
    """How a manual item stands, from its tick: a gate answered without a note does not pass;
    an answer given about something else than what the question is about now (`about`, as
    the tick recorded it then) is stale."""
    if tick is None:
        return ItemView(item, Status.PENDING, 0.0, True, [], "not answered yet", waiver=waiver)
    evidence = [f"{tick.note}"] if tick.note else []
    who = f"answered {tick.answer} by {tick.by} ({tick.at})"
    if about is not None and about != tick.about:
        since = (
            changed_subject(tick.about, about)
            if tick.about is not None  # an answer from before what it was about was kept
            else "it is not known what it was about (answered with an older workbench)"
        )
        said = f"{who} about what it was then; since, {since}"
        return ItemView(item, Status.STALE, 0.0, True, evidence, said, tick=tick, waiver=waiver)
    if tick.navigator:
        who += f", navigator {tick.navigator}"
    if item.gate and tick.answer != "no" and not tick.note:  # written before the rule
        return ItemView(
            item,
            Status.PENDING,
            0.0,
            True,
            evidence,
            who + "; a gate's answer needs a note saying what was looked at",
            tick=tick,
            waiver=waiver,
        )
    if tick.answer == "n/a":
        return ItemView(item, Status.SKIPPED, 0.0, False, evidence, who, tick=tick, waiver=waiver)
    if tick.answer == "no":
        return ItemView(item, Status.FAIL, 0.0, True, evidence, who, tick=tick, waiver=waiver)
    if item.gate and tick.navigator and not tick.confirmed_by:
        return ItemView(
            item,
            Status.PENDING,
            0.0,
            True,
            evidence,
            who + f"; awaiting {tick.navigator}'s confirmation",
            tick=tick,
            waiver=waiver,
        )
    if tick.confirmed_by:
        who += f", confirmed by {tick.confirmed_by}"
    score = 0.5 if tick.note else 0.0
    return ItemView(item, Status.PASS, score, True, evidence, who, tick=tick, waiver=waiver)

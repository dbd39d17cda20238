"""The five steps, and the composition root that hands their checks to the engine.

Each step is one package: its domain code and its `checks.py`, which declares
the step's auto checks in a `CheckSet`. The checklist engine never imports a
step; `open_checklist` builds it with every step's checks.

Tag does not drive the engine: it is handed a `Gatekeeper` (the port of
`workbench.checklist.gate`, which the engine implements) by `gatekeeper`.

Within `steps`, a later step may use an earlier one (serve builds on the
snapshot's lock and the schema's contract; tag on serve; push on tag), never
the other way round; `shared` is below them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.checklist.checks import AutoCheck
    from workbench.checklist.engine import Checklist  # see all_checks
    from workbench.checklist.gate import Gatekeeper
    from workbench.project.manifest import Manifest


def all_checks() -> dict[str, AutoCheck]:
    """Every step's auto checks by item id."""
    # Imported on call, not at the top: importing one step module imports this package
    # first, and must not load every other step with it.
    from workbench.checklist.checks import merge
    from workbench.steps.push.checks import checks as push
    from workbench.steps.schema.checks import checks as schema
    from workbench.steps.serve.checks import checks as serve
    from workbench.steps.snapshot.checks import checks as snapshot
    from workbench.steps.tag.checks import checks as tag

    return merge([snapshot, schema, serve, tag, push])


def open_checklist(
    manifest: Manifest, *, pair: tuple[str, str] | None = None, user: str | None = None
) -> Checklist:
    """The project's checklist, with the built-in checks of every step."""
    from workbench.checklist.engine import Checklist  # see all_checks
    from workbench.steps.tag.regression import refusal

    return Checklist(
        manifest, all_checks(), pair=pair, user=user, subject=question_subject, refusal=refusal
    )


def question_subject(manifest: Manifest, item_id: str) -> list[str] | None:
    """What a manual item's answer is about, recorded with it: the answer is stale once
    this changes (`snapshot.packages-expected`: the runtime set's package names, so a yes
    given before a new package arrived does not vouch for it; `schema.descriptions-complete`:
    each field with its description). None: not bound."""
    if item_id == "snapshot.packages-expected":
        from workbench.steps.snapshot.questions import runtime_names

        return runtime_names(manifest)
    if item_id == "schema.descriptions-complete":  # the fields and their descriptions
        from workbench.steps.schema.contract import field_descriptions

        return field_descriptions(manifest)
    return None


def gatekeeper(checklist: Checklist) -> Gatekeeper:
    """The checklist as the Tag step may see it: the gate port, nothing more (the engine
    implements it; mypy checks that it does, here)."""
    return checklist


def question_evidence(manifest: Manifest, item_id: str) -> tuple[str, list[str]] | None:
    """What a manual item's question is about, to show beside it while a person answers
    it: a heading and lines (for `snapshot.packages-expected`, every package of the runtime
    set with its version and why it is there), or None where the item's own question,
    why and evidence say it all."""
    if item_id == "snapshot.packages-expected":
        from workbench.steps.snapshot.questions import runtime_set

        return runtime_set(manifest)
    return None

"""The checklist engine: the spine of the product.

Definitions (YAML in assets/checklists/, plus a team's files) say what is
asked; registered auto checks answer some of it with evidence and the
fingerprint of their inputs; `checklist.yaml` in the project keeps every
result, tick, waiver and sign-off. The TUI, the CLI and reports all read the
same `Checklist`.
"""

from workbench.checklist.definitions import STEPS, Item, load_definitions
from workbench.checklist.engine import Checklist, ItemView, StepSummary
from workbench.checklist.registry import CheckContext, CheckResult, Status

__all__ = [
    "STEPS",
    "CheckContext",
    "CheckResult",
    "Checklist",
    "Item",
    "ItemView",
    "Status",
    "StepSummary",
    "load_definitions",
]

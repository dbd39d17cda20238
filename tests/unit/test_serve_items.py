"""The serve test's items are named twice: by the light list the check registry reads at
every command's start (`serve.items`), and by the probes that answer them. They must agree,
item for item and in order, or an item would never be answered (or answered unregistered)."""

from __future__ import annotations

from workbench.steps.serve.items import PROBE_ITEMS, SESSION_ITEMS
from workbench.steps.serve.probes import PROBES


def test_the_probes_answer_exactly_the_items_the_registry_names_in_its_order() -> None:
    assert tuple(probe.item_id for probe in PROBES) == PROBE_ITEMS
    assert len(set(SESSION_ITEMS)) == len(SESSION_ITEMS)


def test_the_check_registry_does_not_import_the_session() -> None:
    """Checked in a fresh interpreter: the registry names the items, and the session (its
    build, its probes, jsonschema) is imported only when a serve check runs."""
    import subprocess
    import sys

    code = (
        "import sys; from workbench.steps import all_checks; all_checks(); "
        "print(sorted(m for m in ('workbench.steps.serve.session', 'jsonschema') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout

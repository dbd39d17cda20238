"""The five steps, in order (a tiny module: the TUI's first paint needs only this)."""

STEPS = ("snapshot", "schema", "serve", "tag", "push")
STEP_TITLES = {
    "snapshot": "Snapshot",
    "schema": "Schema",
    "serve": "Serve",
    "tag": "Tag",
    "push": "Push",
}

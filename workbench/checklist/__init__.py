"""The checklist engine: the spine of the product.

Definitions (YAML in assets/checklists/, plus a team's files) say what is
asked; auto checks, handed over by `workbench.steps`, answer some of it with
evidence and the fingerprint of their inputs; `checklist.yaml` in the project
keeps every result, tick, waiver and sign-off. The TUI, the CLI and reports all
read the same `Checklist`.

This package's `__init__` imports nothing: the TUI's first paint reads only
`workbench.checklist.steps`, and must not pay for the engine.
"""

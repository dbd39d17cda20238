"""The Typer CLI: one module per command group, thin faces over `workbench/`."""

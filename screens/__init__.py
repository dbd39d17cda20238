"""The Textual app: screens and widgets, thin faces over `workbench/`."""

"""From the notebook: the API a data scientist calls in the kernel where the model lives.

    from workbench.notebook import export_project
    export_project(model, X_test, y_test, "churn-project")

It saves what only the kernel has (the fitted model, the held-out records typed as
they are in memory, the score the model gets on them) into a project folder the CLI
and the TUI then take over. It stands alone like the serving runtime: the standard
library and the model's own libraries, nothing else of the workbench (no Textual, no
Docker, no YAML library), so `workbench init --from-notebook` can lend it to any
kernel without installing anything there.
"""

from __future__ import annotations

from workbench.notebook.export import export_project

__all__ = ["export_project"]

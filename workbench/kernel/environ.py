"""The environment a child process the workbench starts for someone else's code gets.

The model's interpreter (the snapshot's probe, `init`'s look at candidate model files), a
notebook's kernel: each runs code from the project, which may be a repository someone else
wrote. It inherits the user's environment, minus the secrets the workbench itself reads
from it, so no pickle, notebook cell or import can read them.
"""

from __future__ import annotations

import os

SECRET_VARIABLES = ("WORKBENCH_SIGNING_PASSPHRASE",)


def without_secrets(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's environment) without the workbench's secrets."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if k not in SECRET_VARIABLES}

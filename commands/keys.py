"""`workbench keys init`: the project's signing key pair (sigstore format, made by skopeo)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from commands.options import ProjectOption
from commands.output import console, fail

app = typer.Typer()
keys_app = typer.Typer(help="The project's signing keys (sigstore format).")
app.add_typer(keys_app, name="keys")


def read_passphrase(*, confirm: bool) -> str:
    """The signing passphrase: WORKBENCH_SIGNING_PASSPHRASE, else a hidden prompt (never a
    command-line argument, never echoed or logged)."""
    from workbench.steps.push.keys import PASSPHRASE_VARIABLE

    given = os.environ.get(PASSPHRASE_VARIABLE)
    if given:
        return given
    if not sys.stdin.isatty():
        fail(
            f"no signing passphrase: {PASSPHRASE_VARIABLE} is not set and there is no terminal "
            f"to ask on. Fix: set {PASSPHRASE_VARIABLE} in the environment (from your secret "
            "store), or run the command in a terminal."
        )
    answer: str = typer.prompt(
        "signing key passphrase", hide_input=True, confirmation_prompt=confirm
    )
    return answer


@keys_app.command("init")
def init(
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing private key of this project.")
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Make a signing key pair: the private key (encrypted) in your config folder, the
    public key in the project, named in workbench.yaml as `signing.public_key`."""
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.keys import init_keys

    manifest = load_manifest(project)
    made = init_keys(manifest, read_passphrase(confirm=True), force=force)
    public = made.public.relative_to(manifest.root)
    console.print(f"private key (encrypted, yours only): {made.private}")
    console.print(f"public key: {public}, named in workbench.yaml as signing.public_key")
    console.print(
        f"commit both: `git add {public} workbench.yaml && git commit -m 'signing key'`; "
        "`workbench push` signs each release from now on."
    )

"""`workbench keys init`: the project's signing key pair (sigstore format, made by skopeo)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from commands.options import ProjectOption
from commands.output import console, fail

app = typer.Typer()
keys_app = typer.Typer(help="The project's signing keys (sigstore format).")
app.add_typer(keys_app, name="keys")


def read_passphrase(*, confirm: bool) -> str:
    """The signing passphrase: WORKBENCH_SIGNING_PASSPHRASE, else a hidden prompt (never a
    command-line argument, never echoed or logged)."""
    from workbench.steps.push.keys import PASSPHRASE_VARIABLE, passphrase_from_environment

    given = passphrase_from_environment()
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


def verified_note(manifest: Any, channel: str) -> str:
    """What the channel's last move verified, in a few words (read from its history)."""
    from workbench.project.releases import load_channels
    from workbench.steps.push.verify import signs

    if not signs(manifest):
        return "not verified: the project signs nothing yet (`workbench keys init`)"
    entry = load_channels(manifest).get(channel)
    latest = entry.history[-1] if entry and entry.history else None
    if latest is not None and latest.unverified_reason:
        return f"NOT verified, recorded reason: {latest.unverified_reason}"
    return "verified: signed, the released digest, SBOM and provenance match"


@app.command("verify")
def verify(
    target: Annotated[
        str | None,
        typer.Argument(
            help="A version, an image REGISTRY:TAG / REGISTRY@DIGEST, or a bundle FILE.tar "
            "(default: the latest release)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The findings as JSON.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Verify a pushed release: skopeo accepts its signature (sigstoreSigned policy, the
    project's public key), the registry serves the released digest of the tested image, and
    its SBOM and provenance at the tag match the release manifest and name that image."""
    import json

    from workbench.project.manifest import load_manifest
    from workbench.steps.push.bundle import is_bundle, verify_bundle
    from workbench.steps.push.verify import verify_release

    manifest = load_manifest(project)
    if is_bundle(target):
        verdict = verify_bundle(manifest, Path(str(target)))
    else:
        verdict = verify_release(manifest, target)
    if as_json:
        findings = [{"what": f.what, "ok": f.ok, "evidence": f.evidence} for f in verdict.findings]
        print(
            json.dumps(
                {
                    "version": verdict.version,
                    "reference": verdict.reference,
                    "ok": verdict.ok,
                    "findings": findings,
                },
                indent=1,
            )
        )
    else:
        console.print(f"{verdict.version} as {verdict.reference}:")
        for finding in verdict.findings:
            mark = "[green]ok[/]" if finding.ok else "[red]FAILED[/]"
            console.print(f"  {mark} {finding.what}: {escape(finding.evidence)}")
        console.print("[green]verified[/]" if verdict.ok else "[red]does not verify[/]")
    if not verdict.ok:
        raise typer.Exit(1)


@app.command("export")
def export(
    version: Annotated[str, typer.Argument(help="The pushed, signed release.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The bundle to write (.tar).")],
    project: ProjectOption = Path("."),
) -> None:
    """Write an air-gap bundle: the image by digest with its signature (skopeo's dir layout),
    the release manifest, SBOM, provenance and frozen checklist; `workbench verify FILE.tar`
    checks it with no registry and no network."""
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.bundle import export_release

    made = export_release(load_manifest(project), version, out)
    console.print(f"wrote {made.path} ({made.size / 1e6:.1f} MB): {version} as {made.digest}")


@app.command("import")
def import_(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `workbench export`.")],
    registry: Annotated[
        str, typer.Option("--registry", help="Where to push it, e.g. registry.internal/team/m")
    ],
    project: ProjectOption = Path("."),
) -> None:
    """Verify a bundle, push its image with its signature to another registry (its digest
    kept), and verify it there."""
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.bundle import import_bundle

    verdict = import_bundle(load_manifest(project), bundle, registry)
    for finding in verdict.findings:
        mark = "[green]ok[/]" if finding.ok else "[red]FAILED[/]"
        console.print(f"  {mark} {finding.what}: {escape(finding.evidence)}")
    console.print(
        f"[green]imported and verified[/]: {verdict.reference}"
        if verdict.ok
        else f"[red]imported, but it does not verify there[/]: {verdict.reference}"
    )
    if not verdict.ok:
        raise typer.Exit(1)

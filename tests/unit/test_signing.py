"""Signing and provenance without real parts: what push refuses before anything moves,
the provenance statement read back as written, and skopeo's verdict as it says it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import ImageRef
from workbench.kernel.skopeo import _last_line, policy_for
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.push.publish import push_release
from workbench.steps.push.verify import require_verified, signs
from workbench.steps.tag.provenance import build_provenance, read_provenance

IMAGE = "sha256:" + "ab" * 32


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(tmp_path / "config"))  # no key of yours
    folder = copy_example("iris", tmp_path / "iris")
    (folder / "environment.lock").write_text(
        "scikit-learn==1.5.2 --hash=sha256:" + "1" * 64 + " --hash=sha256:" + "2" * 64 + "\n"
    )
    return folder


def test_a_project_that_requires_signing_refuses_to_push_without_a_key(project: Path) -> None:
    with (project / "workbench.yaml").open("a") as manifest:
        manifest.write("registry: 127.0.0.1:9/x/iris\nsigning:\n  required: true\n")
    with pytest.raises(WorkbenchError) as refused:
        list(push_release(load_manifest(project)))
    said = str(refused.value)
    assert "`signing.required: true`" in said and "nothing was pushed" in said
    assert "workbench keys init" in said


def test_a_project_that_signs_nothing_is_not_verified_before_a_move(project: Path) -> None:
    manifest = load_manifest(project)
    assert not signs(manifest)
    assert require_verified(manifest, "1.0.0", None) is None  # no registry is even asked


def test_the_provenance_reads_back_as_written(project: Path) -> None:
    manifest = load_manifest(project)
    text = build_provenance(
        manifest,
        version="1.0.0",
        image_ref="localhost:5000/iris:1.0.0",
        image_id=IMAGE,
        base=("python:3.11-slim", "sha256:" + "cd" * 32),
        revision="f" * 40,
        lock_sha256="sha256:" + "3" * 64,
        started="2026-12-05T00:00:00Z",
        finished="2026-12-05T00:01:00Z",
    )
    statement = read_provenance(text, "1.0.0.provenance.json")
    assert statement.image_id == IMAGE
    wheels = [d for d in statement.predicate.buildDefinition.resolvedDependencies if d.uri]
    assert {d.digest.get("sha256") for d in wheels} >= {"1" * 64, "2" * 64, "cd" * 32}
    other = json.loads(text) | {"predicateType": "https://example.org/other/v1"}
    with pytest.raises(WorkbenchError, match="not an in-toto v1 statement of SLSA v1"):
        read_provenance(json.dumps(other), "1.0.0.provenance.json")


def test_skopeo_is_quoted_in_its_own_words_and_its_policy_names_one_key() -> None:
    line = (
        'time="2026-12-05T03:14:22Z" level=fatal msg="Source image rejected: '
        'A signature was required, but no signature exists"\n'
    )
    assert _last_line(line) == (
        "Source image rejected: A signature was required, but no signature exists"
    )
    policy = policy_for(ImageRef.parse("127.0.0.1:5000/team/iris"), Path("/k.pub"))
    assert policy["default"] == [{"type": "reject"}]
    (requirement,) = policy["transports"]["docker"]["127.0.0.1:5000/team/iris"]  # type: ignore[index]
    assert requirement["type"] == "sigstoreSigned" and requirement["keyPath"] == "/k.pub"


def test_a_project_that_does_not_sign_is_never_signed_with_a_key_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another project of the same name made a key: this one names no public key and does
    not require signing, so it pushes unsigned, without asking for that key's passphrase."""
    from workbench.steps.push import signing

    project = copy_example("iris", tmp_path / "iris")
    manifest = load_manifest(project)
    stray = tmp_path / "cosign.key"
    stray.write_text("another project's key")
    monkeypatch.setattr(signing, "signing_key", lambda _manifest: stray)
    assert manifest.signing.public_key is None
    assert signing.key_to_sign_with(manifest) is None


def test_the_passphrase_never_reaches_the_models_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot's probe and init's look at model files run the project's code (pickles,
    imports) in the model's interpreter: it never sees the signing passphrase."""
    import sys

    from workbench.project.model_env import run_json_script

    monkeypatch.setenv("WORKBENCH_SIGNING_PASSPHRASE", "planted-passphrase-7f3a")
    script = tmp_path / "peek.py"
    script.write_text(
        "import json, os\n"
        "print(json.dumps({'seen': os.environ.get('WORKBENCH_SIGNING_PASSPHRASE'),"
        " 'home': bool(os.environ.get('HOME'))}))\n"
    )
    answer = run_json_script(Path(sys.executable), script, timeout=30)
    assert answer == {"seen": None, "home": True}

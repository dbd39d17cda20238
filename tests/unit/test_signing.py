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


def _advisory(folder: Path, name: str, affected: dict[str, object], modified: str) -> None:
    document = {
        "id": name,
        "modified": modified,
        "affected": [{"package": {"ecosystem": "PyPI", "name": "scikit-learn"}, **affected}],
    }
    (folder / f"{name}.json").write_text(json.dumps(document))


def test_advisories_name_a_locked_version_by_range_list_or_open_end(project: Path) -> None:
    from workbench.steps.tag.advisories import scan

    folder = project / "advisories"
    folder.mkdir()
    now = "2099-01-01T00:00:00Z"  # not stale for the age shown

    def span(*events: dict[str, str]) -> dict[str, object]:
        return {"ranges": [{"type": "ECOSYSTEM", "events": list(events)}]}

    _advisory(folder, "A-fixed-above", span({"introduced": "1.0"}, {"fixed": "1.5.3"}), now)
    _advisory(folder, "B-fixed-below", span({"introduced": "0"}, {"fixed": "1.5.2"}), now)
    _advisory(
        folder, "C-last-affected", span({"introduced": "1.5"}, {"last_affected": "1.5.2"}), now
    )
    _advisory(folder, "D-open", span({"introduced": "1.4"}), now)
    _advisory(folder, "E-listed", {"versions": ["1.5.1", "1.5.2"]}, now)
    _advisory(folder, "F-other-version", {"versions": ["1.4.0"]}, now)
    found = scan(load_manifest(project), "advisories")
    assert found.advisories == 6
    named = {hit.advisory: hit.fixed for hit in found.hits}
    assert named == {
        "A-fixed-above": "1.5.3",
        "C-last-affected": None,
        "D-open": None,
        "E-listed": None,
    }


def test_advisories_read_from_a_zip_and_an_old_export_is_dated(project: Path) -> None:
    import zipfile

    from workbench.steps.tag.advisories import scan

    with zipfile.ZipFile(project / "osv.zip", "w") as bundle:
        bundle.writestr(
            "PYSEC-1.json",
            json.dumps(
                {
                    "id": "PYSEC-1",
                    "modified": "2020-01-01T00:00:00Z",
                    "affected": [
                        {"package": {"ecosystem": "PyPI", "name": "other"}, "versions": ["1"]}
                    ],
                }
            ),
        )
    found = scan(load_manifest(project), "osv.zip")
    assert (found.advisories, found.hits) == (1, ())
    assert found.age_days is not None and found.age_days > 30


def test_verify_resolves_a_version_a_channel_a_digest_and_refuses_another_repository(
    project: Path,
) -> None:
    from workbench.project.records import (
        BaseImageInfo,
        BumpInfo,
        Channel,
        ChecklistAtRelease,
        GitInfo,
        Hashes,
        ImageInfo,
        People,
        PushInfo,
        ReleaseRecord,
    )
    from workbench.project.releases import save_channels, save_release
    from workbench.steps.push.verify import _release_of

    with (project / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write("registry: 127.0.0.1:5000/team/iris\n")
    manifest = load_manifest(project)
    digests = {"1.0.0": "sha256:" + "a" * 64, "1.1.0": "sha256:" + "b" * 64}
    for version, digest in digests.items():
        save_release(
            manifest,
            ReleaseRecord(
                version=version,
                created="2026-12-05T00:00:00Z",
                git=GitInfo(revision="r", tag=f"v{version}"),
                previous=None,
                bump=BumpInfo(level="minor", suggested=version, reason="r"),
                hashes=Hashes(lock="l", request_schema="q", response_schema="s"),
                base_image=BaseImageInfo(name="b", id="i"),
                image=ImageInfo(ref="x", id=IMAGE),
                checklist=ChecklistAtRelease(readiness=1.0),
                released_by=People(driver="Ana"),
                push=PushInfo(pushed=True, digest=digest),
            ),
        )
    save_channels(manifest, {"production": Channel(current="1.0.0", digest=digests["1.0.0"])})
    repository = "127.0.0.1:5000/team/iris"
    assert _release_of(manifest, None) == ("1.1.0", ":1.1.0")  # the latest
    assert _release_of(manifest, "1.0.0") == ("1.0.0", ":1.0.0")
    assert _release_of(manifest, f"{repository}:production") == ("1.0.0", ":production")
    assert _release_of(manifest, f"{repository}@{digests['1.1.0']}") == (
        "1.1.0",
        f"@{digests['1.1.0']}",
    )
    with pytest.raises(WorkbenchError, match="not an image of this project's repository"):
        _release_of(manifest, "127.0.0.1:5000/other/iris:1.0.0")
    with pytest.raises(WorkbenchError, match="neither a release nor a channel"):
        _release_of(manifest, f"{repository}:nightly")

"""Steps 4 and 5 on real git repositories and a real registry on loopback."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import pytest

from tests.doubler import release_ready_doubler
from tests.helpers import git, pass_gates, release_ready, remove_image
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.demo import parts as harness
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.project import releases
from workbench.project.records import People
from workbench.steps import open_checklist
from workbench.steps.push import publish as pushing
from workbench.steps.push.publish import LayerProgress, Pushed
from workbench.steps.push.release_rows import release_table
from workbench.steps.tag import release as tagging

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]


def drain(events) -> list[object]:  # type: ignore[no-untyped-def]
    return list(events)


def test_tag_push_second_breaking_release_promote_rollback_and_pull(
    tmp_path: Path,
    example_python: Path,
    registry: harness.Registry,
    docker_engine: object,
) -> None:
    target = f"{registry.host}/team/iris"
    checklist = release_ready(tmp_path / "iris", example_python, target)
    manifest = checklist.manifest

    assert str(tagging.suggest(manifest).version) == "1.0.0"
    first = tagging.create_release(checklist)
    assert str(first.version) == "1.0.0"
    assert git(manifest.root, "cat-file", "-t", "v1.0.0") == "tag"  # annotated
    document = releases.load_release(manifest, "1.0.0")
    assert document.hashes.lock.startswith("sha256:")
    assert document.image.ref == f"{target}:1.0.0"
    assert document.released_by == People(driver="Ana")
    assert (document.push.pushed, document.push.digest) == (False, None)

    events = drain(pushing.push_release(manifest))
    assert any(isinstance(e, LayerProgress) for e in events)
    pushed = next(e for e in events if isinstance(e, Pushed))
    assert pushed.digest.startswith("sha256:")
    assert releases.load_release(manifest, "1.0.0").push.digest == pushed.digest
    again = drain(pushing.push_release(manifest, "1.0.0"))
    assert isinstance(again[-1], Pushed) and again[-1].already

    # A breaking contract change: the request range narrowed.
    request = manifest.root / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("maximum: 20", "maximum: 10", 1))
    git(manifest.root, "commit", "-qam", "sepal_length: at most 10 cm")
    suggestion = tagging.suggest(manifest)
    assert (str(suggestion.version), suggestion.level) == ("2.0.0", "major")
    assert "narrowed: upper bound 20 -> 10" in suggestion.reason
    checklist = pass_gates(manifest.root)
    with pytest.raises(
        WorkbenchError, match="is a minor bump, but the contract changes need a major one"
    ):
        tagging.create_release(checklist, "1.1.0")
    with pytest.raises(WorkbenchError, match="not higher than the last release"):
        tagging.create_release(checklist, "0.9.0")
    second = tagging.create_release(checklist, "2.0.0")
    second_push = next(e for e in pushing.push_release(manifest) if isinstance(e, Pushed))
    assert second_push.digest != pushed.digest

    # Tag and push checklist items on the real repository and registry.
    checklist.refresh()
    ids = [i.id for i in checklist.items if i.is_auto and i.step in ("tag", "push")]
    statuses = {
        e.item_id: e.view.status
        for e in checklist.run(ids, CheckContext(manifest))
        if isinstance(e, ItemFinished)
    }
    expected = dict.fromkeys(ids, Status.PASS) | {
        "push.deployed-healthy": Status.SKIPPED,
        "push.alerts-exist": Status.SKIPPED,  # no channel deployed: no rules to check yet
        "push.replay": Status.SKIPPED,  # nothing deployed: no production traffic to replay
        "push.rollback-rehearsed": Status.SKIPPED,  # no channel yet: no way back to rehearse
        "push.signed": Status.WARN,  # the project signs nothing (no `workbench keys init`)
        "push.attested": Status.WARN,  # so nothing is attached to the image: the files only
        "tag.vulnerabilities": Status.WARN,  # no advisories configured
    }
    assert statuses == expected, {i: checklist.view(i).evidence for i in ids}  # none deployed

    # Promote, promote, roll back; pull by the channel's digest.
    pushing.promote(manifest, "1.0.0", "production", "Ana")
    pushing.promote(manifest, str(second.version), "production", "Ana")
    version, digest = pushing.rollback(manifest, "production", "Ben")
    assert (version, digest) == ("1.0.0", pushed.digest)
    channels = releases.load_channels(manifest)["production"]
    assert [h.action for h in channels.history] == ["promote", "promote", "rollback"]
    client = docker_client()
    remove_image(client, f"{target}:1.0.0", force=True)
    pulled = client.images.pull(f"{target}@{digest}")
    assert f"{target}@{digest}" in pulled.attrs["RepoDigests"]
    rows = release_table(manifest)
    assert [(r["version"], r["pushed"], r["channels"]) for r in rows] == [
        ("2.0.0", True, []),
        ("1.0.0", True, ["production"]),
    ]
    assert git(manifest.root, "status", "--porcelain", "releases") == ""  # all committed


def test_auth_registry_refuses_anonymous_accepts_credentials_and_never_leaks_them(
    tmp_path: Path,
    auth_registry: harness.Registry,
    monkeypatch: pytest.MonkeyPatch,
    docker_engine: object,
    base_image: str,
) -> None:
    target = f"{auth_registry.host}/team/doubler"
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    (docker_config / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    checklist = release_ready_doubler(tmp_path, target, monkeypatch)
    manifest = checklist.manifest
    with pytest.raises(WorkbenchError, match="refused anonymous access: it needs credentials"):
        tagging.create_release(checklist)  # checks the registry for the version first

    user, password = auth_registry.auth  # type: ignore[misc]
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    (docker_config / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": token}}})
    )
    release = tagging.create_release(checklist)
    pushed = next(e for e in pushing.push_release(manifest) if isinstance(e, Pushed))
    assert pushed.digest.startswith("sha256:")

    (docker_config / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    auth_registry.host: {
                        "auth": base64.b64encode(f"{user}:wrong".encode()).decode()
                    }
                }
            }
        )
    )
    with pytest.raises(WorkbenchError, match="refused the credentials") as refused:
        pushing.promote(manifest, str(release.version), "production", "Ana")
    assert password not in str(refused.value)

    from workbench.checklist import report

    written = [p for p in manifest.root.rglob("*") if p.is_file() and ".git" not in p.parts]
    texts = [p.read_bytes() for p in written]
    texts.append(report.to_markdown(report.build(open_checklist(manifest))).encode())
    texts.append(json.dumps(report.build(open_checklist(manifest))).encode())
    texts.append(git(manifest.root, "log", "--all", "-p").encode())
    assert not [
        p
        for p, t in zip([*written, "report", "json", "git log"], texts, strict=True)
        if password.encode() in t or token.encode() in t
    ]


def test_a_registry_stopped_mid_push_leaves_the_release_not_pushed_and_push_completes_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_engine: object,
    base_image: str,
) -> None:
    storage = tmp_path / "registry-data"
    registry = harness.start_registry(root=storage)
    port = registry.port
    try:
        target = f"{registry.host}/team/doubler"
        checklist = release_ready_doubler(tmp_path, target, monkeypatch)
        manifest = checklist.manifest
        tagging.create_release(checklist)
        cancel = threading.Event()
        with pytest.raises(WorkbenchError, match="stays marked not pushed"):
            for event in pushing.push_release(manifest, cancel=cancel):
                if isinstance(event, LayerProgress) and event.status == "Pushing":
                    registry.stop()  # the registry goes away in the middle of the upload
        assert releases.load_release(manifest, "1.0.0").push.pushed is False
    finally:
        registry.stop()
    storage.mkdir(parents=True, exist_ok=True)
    restarted = harness.start_registry(root=storage, port=port)
    try:
        events = list(pushing.push_release(manifest))
        pushed = next(e for e in events if isinstance(e, Pushed))
        push = releases.load_release(manifest, "1.0.0").push
        assert (push.pushed, push.digest) == (True, pushed.digest)
    finally:
        restarted.stop()
    assert os.path.isdir(storage)


def test_a_release_that_cannot_commit_leaves_nothing_and_push_refuses_an_untagged_one(
    tmp_path: Path,
    registry: harness.Registry,
    monkeypatch: pytest.MonkeyPatch,
    docker_engine: object,
    base_image: str,
) -> None:
    target = f"{registry.host}/team/atomic"
    checklist = release_ready_doubler(tmp_path, target, monkeypatch)
    manifest = checklist.manifest
    root = manifest.root
    lock = root / ".git" / "index.lock"
    # A git that is still running holds its index lock open: the release must not take it.
    with lock.open("w"), pytest.raises(WorkbenchError) as failed:
        tagging.create_release(checklist)
    assert "index.lock" in failed.value.paragraph  # the cause and the fix are named
    # Nothing of the release is left: no manifest, no frozen checklist, no commit, no tags.
    assert not (root / "releases" / "1.0.0.yaml").exists()
    assert not (root / "releases" / "1.0.0.checklist.json").exists()
    assert git(root, "tag", "--list") == ""
    assert git(root, "log", "--format=%s") == "the registry\nthe doubler"
    assert not docker_client().images.list(name=target)
    assert lock.exists()  # a live git's lock is never removed
    # Once nobody holds it, it is what a killed git left: the retry removes it, is the same
    # 1.0.0, and works.
    release = tagging.create_release(checklist)
    assert not lock.exists()
    assert str(release.version) == "1.0.0"
    # A release whose annotated tag went missing is not complete: it is never pushed.
    git(root, "tag", "--delete", "v1.0.0")
    with pytest.raises(WorkbenchError, match=r"has no annotated git tag v1\.0\.0"):
        drain(pushing.push_release(manifest))
    assert releases.load_release(manifest, "1.0.0").push.pushed is False

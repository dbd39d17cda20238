"""The fault catalogue of steps 4 and 5 (issue #23): for every automated item of Tag and
Push, a project (or state) broken just for that item, where the item fails and its
evidence names the cause, beside the unbroken project where it passes.

Cheap on purpose: the tag items read git and release files written by hand (no image);
the push items share one tiny image (a `docker import` of a few bytes, labelled, removed
afterwards) pushed to the test's registry; `push.deployed-healthy` runs that image as a
real swarm service whose health check passes, or never does (bounded in time, removed
afterwards; a swarm is made for the test only where the engine is in none)."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from docker.types import EndpointSpec, Healthcheck, ServiceMode

from tests.helpers import WORKER, git, image_from_files, remove_image, swarm_turn
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.definitions import load_definitions
from workbench.checklist.engine import ItemFinished
from workbench.demo import parts as harness
from workbench.kernel import skopeo
from workbench.kernel.clock import now
from workbench.kernel.docker import docker_client
from workbench.kernel.hashing import sha256_text
from workbench.kernel.oci import ImageRef, client_for
from workbench.project.manifest import load_manifest
from workbench.project.records import (
    BaseImageInfo,
    BumpInfo,
    Channel,
    ChannelMove,
    ChecklistAtRelease,
    Deployment,
    GitInfo,
    Hashes,
    ImageInfo,
    People,
    PushInfo,
    QualityInfo,
    ReleaseRecord,
)
from workbench.project.releases import save_channels, save_deployments, save_release
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.push import alerting, prometheus, replay, swarm
from workbench.steps.push.attestations import attach
from workbench.steps.push.report import FieldAgreement, ReplayReport
from workbench.steps.serve.drift import bins_for
from workbench.steps.serve.run import PROJECT_ID_LABEL
from workbench.steps.tag.files import release_hashes
from workbench.steps.tag.provenance import build_provenance
from workbench.steps.tag.sbom import Inventory, build_sbom

RUN = f"faults-{time.time_ns()}"
LABEL = {"io.workbench.test": RUN}
SECOND = 1_000_000_000  # the Engine API counts durations in nanoseconds


def auto_items(step: str) -> list[str]:
    return [i.id for i in load_definitions([], ()) if i.step == step and i.is_auto]


TAG_ITEMS = auto_items("tag")
PUSH_ITEMS = auto_items("push")


# --- a project and hand-written releases ---------------------------------------------------


def project(root: Path, registry: str | None = None) -> Path:
    """The iris example in a fresh git repository, with a lock, committed: no environment,
    no image (the tag items read only git and the release files)."""
    folder = copy_example("iris", root / "iris")
    if registry:
        with (folder / "workbench.yaml").open("a") as manifest:
            manifest.write(f"registry: {registry}\n")
    (folder / "environment.lock").write_text("scikit-learn==1.5.2 --hash=sha256:00\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.name", "Ana Tester")
    git(folder, "config", "user.email", "ana@example.com")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "the iris model")
    return folder


def release(
    folder: Path,
    version: str,
    *,
    previous: str | None = None,
    suggested: str | None = None,
    accuracy: float | None = None,
    push: PushInfo | None = None,
    image_id: str = "sha256:i",
    annotated: bool = True,
    documents: dict[str, str] | None = None,
) -> ReleaseRecord:
    """A release written as `workbench tag` writes it (every file hashed, `documents` too:
    its SBOM and provenance), committed and tagged at HEAD."""
    manifest = load_manifest(folder)
    files = release_hashes(manifest)
    for relative, text in (documents or {}).items():
        (folder / relative).parent.mkdir(exist_ok=True)
        (folder / relative).write_text(text)
        files[relative] = sha256_text(text)
    quality = (
        QualityInfo(
            metric="accuracy", value=accuracy, n=30, data="data/holdout.csv", data_sha256="d"
        )
        if accuracy is not None
        else None
    )
    record = ReleaseRecord(
        version=version,
        created=f"2026-11-24T10:00:0{len(version) % 10}Z",
        git=GitInfo(revision=git(folder, "rev-parse", "HEAD"), tag=f"v{version}"),
        previous=previous,
        bump=BumpInfo(level="major", suggested=suggested or version, reason="by hand"),
        hashes=Hashes(
            lock=files["environment.lock"],
            request_schema=files["schema/request.yaml"],
            response_schema=files["schema/response.yaml"],
            artifacts={"model/model.joblib": files["model/model.joblib"]},
            files=files,
        ),
        base_image=BaseImageInfo(name="python:3.11-slim", id="sha256:b"),
        image=ImageInfo(ref=f"x:{version}", id=image_id, tested_id=image_id),
        checklist=ChecklistAtRelease(readiness=1.0),
        quality=quality,
        released_by=People(driver="Ana"),
        push=push or PushInfo(),
    )
    save_release(manifest, record)
    git(folder, "add", "releases")
    git(folder, "commit", "-q", "-m", f"release {version}")
    if annotated:
        git(folder, "tag", "--annotate", f"v{version}", "-m", f"release {version}")
    else:
        git(folder, "tag", f"v{version}")
    return record


def ignored_code(folder: Path) -> None:
    """A helper module the predictor needs (model.code), hidden by the project's
    `.gitignore` (real projects ignore `*.py`): it goes into the image, into no commit."""
    (folder / "features.py").write_text("SCALE = 2\n")
    with (folder / ".gitignore").open("a") as ignore:
        ignore.write("*.py\n")
    manifest = folder / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  artifact: model/model.joblib\n",
            "  artifact: model/model.joblib\n  code: [features.py]\n",
        )
    )
    git(folder, "commit", "-q", "-am", "the predictor needs features.py")


def status_of(folder: Path, item_id: str) -> tuple[Status, list[str]]:
    checklist = open_checklist(load_manifest(folder), user="Ana")
    events = checklist.run([item_id], CheckContext(checklist.manifest))
    (view,) = [e.view for e in events if isinstance(e, ItemFinished)]
    return view.status, view.evidence


# --- the tag cases: (unbroken, broken, a phrase of the broken evidence) ----------------------


def clean(folder: Path) -> None:
    git(folder, "status")  # the project as committed


def tag_version_fine(folder: Path) -> None:
    release(folder, "1.0.0")
    release(folder, "1.1.0", previous="1.0.0")


def tag_version_copied(folder: Path) -> None:
    """A release manifest copied by hand under a new name."""
    release(folder, "1.0.0")
    text = (folder / "releases" / "1.0.0.yaml").read_text()
    (folder / "releases" / "1.1.0.yaml").write_text(text)


def bump_enough(folder: Path) -> None:
    release(folder, "1.0.0")
    release(folder, "2.0.0", previous="1.0.0", suggested="2.0.0")


def bump_short(folder: Path) -> None:
    """A breaking contract change released as a patch."""
    release(folder, "1.0.0")
    release(folder, "1.0.1", previous="1.0.0", suggested="2.0.0")


def as_good(folder: Path) -> None:
    release(folder, "1.0.0", accuracy=0.97)
    release(folder, "1.1.0", previous="1.0.0", accuracy=0.965)


def worse(folder: Path) -> None:
    release(folder, "1.0.0", accuracy=0.97)
    release(folder, "1.1.0", previous="1.0.0", accuracy=0.80)


def annotated(folder: Path) -> None:
    release(folder, "1.0.0")


def lightweight(folder: Path) -> None:
    release(folder, "1.0.0", annotated=False)


def complete(folder: Path) -> None:
    release(folder, "1.0.0")


def hashes_a_file_in_no_commit(folder: Path) -> None:
    ignored_code(folder)
    release(folder, "1.0.0")


def advisories(named: str) -> Callable[[Path], None]:
    """An OSV advisory (as the PyPA database exports them, modified today) naming
    scikit-learn `named`; the lock holds 1.5.2."""

    def arrange(folder: Path) -> None:
        (folder / "advisories").mkdir()
        advisory = {
            "id": "GHSA-test-0001",
            "aliases": ["PYSEC-2026-1"],
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "Scikit_Learn"},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5.3"}]}
                    ]
                    if named == "1.5.2"
                    else [],
                    "versions": [named],
                }
            ],
        }
        (folder / "advisories" / "GHSA-test-0001.json").write_text(json.dumps(advisory))
        with (folder / "workbench.yaml").open("a") as manifest:
            manifest.write("supply_chain:\n  advisories: advisories\n")
        git(folder, "add", ".")
        git(folder, "commit", "-q", "-m", "advisories")

    return arrange


def attestations(folder: Path, image_id: str, named: str | None = None) -> dict[str, str]:
    """The SBOM and provenance of release 1.0.0 as `workbench tag` writes them, of the image
    `image_id`; with `named`, the provenance names another image."""
    manifest = load_manifest(folder)
    lock = release_hashes(manifest)["environment.lock"]
    sbom = build_sbom(
        manifest,
        "1.0.0",
        image_id,
        "2026-11-24T10:00:00Z",
        Inventory(python={"scikit-learn": "1.5.2"}, debian=[]),
        {},
    )
    provenance = build_provenance(
        manifest,
        version="1.0.0",
        image_ref="x:1.0.0",
        image_id=named or image_id,
        base=("python:3.11-slim", "sha256:b"),
        revision=git(folder, "rev-parse", "HEAD"),
        lock_sha256=lock,
        started="2026-11-24T10:00:00Z",
        finished="2026-11-24T10:00:05Z",
    )
    return {"releases/1.0.0.sbom.cdx.json": sbom, "releases/1.0.0.provenance.json": provenance}


# --- the push cases: one tiny image in the test's registry --------------------------------


@dataclass(frozen=True)
class Pushed:
    """The tiny image, pushed as `<registry>/faults/tiny-<worker>:1.0.0` (each worker pushes
    its own: the run's workers share one registry and one engine)."""

    registry: str  # the `registry:` of the projects
    digest: str  # its manifest's digest in the registry
    image_id: str  # its config digest: the local image id
    public_key: str  # the key the digest is signed with (skopeo, sigstore), PEM
    other_key: str  # a key it is not signed with
    private_key: Path  # the private half of `public_key` (encrypted, SIGNING_PASSPHRASE)
    other_private_key: Path  # the private half of `other_key`

    def push_record(self, digest: str | None = None) -> PushInfo:
        return PushInfo(pushed=True, digest=digest or self.digest, pushed_at="t", ref="r")


NOWHERE = "sha256:" + "0" * 64  # a digest no registry holds
SIGNING_PASSPHRASE = "faults-passphrase"


def _tiny_tar() -> bytes:
    """sleep, true and false with the C library they need: a runnable image of ~2.5 MB."""
    files = {
        "bin/sleep": "/usr/bin/sleep",
        "bin/true": "/usr/bin/true",
        "bin/false": "/usr/bin/false",
        "lib/x86_64-linux-gnu/libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
        "lib64/ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2",
    }
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, source in files.items():
            tar.add(str(Path(source).resolve()), arcname=name)
    return data.getvalue()


@pytest.fixture(scope="module")
def pushed(
    docker_engine: object, registry: harness.Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pushed]:
    client = docker_client()
    repository = f"{registry.host}/faults/tiny-{WORKER}"
    client.api.import_image_from_data(
        _tiny_tar(),
        repository=repository,
        tag="1.0.0",
        changes=[f"LABEL io.workbench.test={RUN}", 'CMD ["/bin/sleep", "600"]'],
    )
    try:
        for line in client.api.push(repository, tag="1.0.0", stream=True, decode=True):
            assert "error" not in line, line
        digest = client_for(repository).manifest_digest("1.0.0")
        assert digest is not None
        private, public = skopeo.generate_key(SIGNING_PASSPHRASE)
        other_private, other = skopeo.generate_key(SIGNING_PASSPHRASE)
        keys = tmp_path_factory.mktemp("key")
        key, other_key = keys / "cosign.key", keys / "other.key"
        key.write_text(private)
        other_key.write_text(other_private)
        ref = ImageRef.parse(repository)
        signed = skopeo.sign(ref, digest, "1.0.0", key, SIGNING_PASSPHRASE)
        assert signed.ok, signed.said
        image_id = str(client.images.get(f"{repository}:1.0.0").id)
        yield Pushed(repository, digest, image_id, public, other, key, other_key)
    finally:
        remove_image(client, f"{repository}:1.0.0", force=True)


def pushed_release(folder: Path, p: Pushed, *, digest: str | None = None, image: str = "") -> None:
    release(folder, "1.0.0", push=p.push_record(digest), image_id=image or p.image_id)


def reachable(folder: Path, p: Pushed) -> None:
    assert load_manifest(folder).registry == p.registry


def unreachable(folder: Path, p: Pushed) -> None:
    """`registry:` names a port nothing listens on."""
    manifest = folder / "workbench.yaml"
    manifest.write_text(manifest.read_text().replace(p.registry, "127.0.0.1:9/faults/tiny"))


def ours(folder: Path, p: Pushed) -> None:
    pushed_release(folder, p)


def taken(folder: Path, p: Pushed) -> None:
    """The registry's 1.0.0 is another digest than the one the release recorded."""
    pushed_release(folder, p, digest=NOWHERE)


def verified(folder: Path, p: Pushed) -> None:
    pushed_release(folder, p)


def not_the_tested_image(folder: Path, p: Pushed) -> None:
    """The registry's 1.0.0 points at another config than the image the serve test ran."""
    pushed_release(folder, p, image="sha256:" + "1" * 64)


def previous_there(folder: Path, p: Pushed) -> None:
    pushed_release(folder, p)
    release(folder, "1.1.0", previous="1.0.0", push=p.push_record(), image_id=p.image_id)


def previous_gone(folder: Path, p: Pushed) -> None:
    """The previous release's digest is no longer in the registry (garbage-collected)."""
    pushed_release(folder, p, digest=NOWHERE)
    release(folder, "1.1.0", previous="1.0.0", push=p.push_record(), image_id=p.image_id)


def signing_with(key: Callable[[Pushed], str]) -> Callable[[Path, Pushed], None]:
    """The pushed release, in a project whose committed public key is `key(p)`."""

    def arrange(folder: Path, p: Pushed) -> None:
        commit_public_key(folder, key(p))
        pushed_release(folder, p)

    return arrange


def commit_public_key(folder: Path, pem: str) -> None:
    (folder / "signing").mkdir()
    (folder / "signing" / "tiny.pub").write_text(pem)
    with (folder / "workbench.yaml").open("a") as manifest:
        manifest.write("signing:\n  public_key: signing/tiny.pub\n")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "the signing key")


def attached_by(mine: bool) -> Callable[[Path, Pushed], None]:
    """The pushed, signed release whose SBOM and provenance are attached in the registry
    (cosign's `.att` and `.sbom` of its digest) as `workbench push` attaches them, signed
    with the project's key, or (`mine=False`) with another key."""

    def arrange(folder: Path, p: Pushed) -> None:
        commit_public_key(folder, p.public_key)
        documents = attestations(folder, p.image_id)
        record = release(
            folder, "1.0.0", push=p.push_record(), documents=documents, image_id=p.image_id
        )
        manifest = load_manifest(folder)
        key, pem = (p.private_key, p.public_key) if mine else (p.other_private_key, p.other_key)
        attach(manifest, client_for(p.registry), record, p.digest, (key, SIGNING_PASSPHRASE, pem))

    return arrange


def deployed(healthy: bool) -> Callable[[Path, Pushed], None]:
    """A channel deployed to the swarm as `workbench deploy` records it, its service running
    the channel's digest with a health check that passes, or never does."""

    def arrange(folder: Path, p: Pushed) -> None:
        pushed_release(folder, p)
        manifest = load_manifest(folder)
        channel = f"f{time.time_ns() % 10**9}"
        move = ChannelMove(version="1.0.0", digest=p.digest, action="promote", at="t", by="Ana")
        save_channels(
            manifest, {channel: Channel(current="1.0.0", digest=p.digest, history=[move])}
        )
        name = swarm.service_name(manifest, channel)
        save_deployments(
            manifest,
            [
                Deployment(
                    channel=channel,
                    target="swarm",
                    service=name,
                    version="1.0.0",
                    digest=p.digest,
                    at="t",
                    by="Ana",
                    result="created",
                )
            ],
        )
        client = docker_client()
        client.services.create(
            f"{p.registry}@{p.digest}",
            command=["/bin/sleep", "600"],
            name=name,
            labels=LABEL,
            healthcheck=Healthcheck(
                test=["CMD", "/bin/true" if healthy else "/bin/false"],
                interval=SECOND,
                timeout=SECOND,
                retries=1,
            ),
            endpoint_spec=EndpointSpec(mode="dnsrr"),
            mode=ServiceMode("replicated", replicas=1),
        )
        # Bounded: the healthy task runs within seconds; the other has had as long (its
        # check fails within two) and never counts as running.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if healthy and swarm.healthy_tasks(client, name):
                return
            tasks = swarm.find_service(client, name).tasks()  # type: ignore[union-attr]
            if not healthy and any(t["Status"]["State"] in ("failed", "shutdown") for t in tasks):
                return
            time.sleep(1)
        raise AssertionError(f"{name}: the swarm did not get its task to the expected state")

    return arrange


def monitored(tampered: bool) -> Callable[[Path], None]:
    """A channel deployed to the swarm as `workbench deploy` records it, with the
    monitoring files deploy writes; or with its replicas rule edited by hand to compare
    against one replica (its rule test then fails)."""

    def arrange(folder: Path) -> None:
        manifest = load_manifest(folder)
        digest = "sha256:" + "c" * 64
        move = ChannelMove(version="1.0.0", digest=digest, action="promote", at="t", by="Ana")
        save_channels(
            manifest, {"production": Channel(current="1.0.0", digest=digest, history=[move])}
        )
        name = swarm.service_name(manifest, "production")
        deployment = Deployment(
            channel="production",
            target="swarm",
            service=name,
            version="1.0.0",
            digest=digest,
            at="t",
            by="Ana",
            result="created",
        )
        save_deployments(manifest, [deployment])
        reference = {
            "features": {"petal_length": bins_for([n / 10 for n in range(100)])},
            "prediction": bins_for(["setosa"] * 40 + ["virginica"] * 60),
        }
        watched = alerting.watched(
            manifest,
            service=name,
            channel="production",
            version="1.0.0",
            image=f"{manifest.registry or 'localhost:5000/iris'}@{digest}",
            replicas=2,
            network=swarm.network_name(manifest),
            reference=reference,
        )
        prometheus.write(manifest, watched)
        if tampered:
            rules = folder / "deploy" / "monitoring" / "production" / "rules.yml"
            text = rules.read_text()
            assert "or vector(0)) < 2" in text
            rules.write_text(text.replace("or vector(0)) < 2", "or vector(0)) < 1"))

    return arrange


def replayed(disagreeing: int) -> Callable[[Path], None]:
    """The candidate 1.1.0 replayed against 200 of production's logged requests, as
    `workbench replay` records it, under a team minimum of 95%: every answer as production's,
    or `disagreeing` predictions different."""

    def arrange(folder: Path) -> None:
        with (folder / "workbench.yaml").open("a") as manifest_file:
            manifest_file.write("monitoring:\n  log_predictions: true\n")
            manifest_file.write("  replay_min_agreement: 0.95\n")
        release(folder, "1.0.0")
        release(folder, "1.1.0", previous="1.0.0")
        manifest = load_manifest(folder)
        agreed = 200 - disagreeing
        fields = [
            FieldAgreement(field="prediction", agreed=agreed, compared=200),
            FieldAgreement(field="probabilities", agreed=200, compared=200),
        ]
        report = ReplayReport(
            channel="production",
            candidate="1.1.0",
            production="1.0.0",
            source="2 replicas of the service iris-classifier-production",
            replayed_at=now(),
            logged=400,
            sent=200,
            answered=200,
            agreed=agreed,
            fields=fields,
            minimum=0.95,
        )
        replay.save(manifest, report)

    return arrange


SERVER = """
import http.server, json, os
BAD = os.environ.get("ANSWER") == "bad"
GOOD = {"prediction": "setosa", "probabilities": {"setosa": 1.0, "versicolor": 0.0,
                                                  "virginica": 0.0}}
class Model(http.server.BaseHTTPRequestHandler):
    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.send(200 if self.path.startswith("/health") else 404, {"status": "ready"})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send(200, {"prediction": "rose"} if BAD else GOOD)
port = int(os.environ.get("PORT", "8080"))
http.server.ThreadingHTTPServer(("0.0.0.0", port), Model).serve_forever()
"""


def _build_and_push(client: Any, repository: str, tag: str, files: dict[str, str]) -> str:
    """A build context of `files`, built as `repository:tag` and pushed; its digest."""
    encoded = {name: text.encode() for name, text in files.items()}
    image_from_files(client, encoded, tag=f"{repository}:{tag}", pull=False, rm=True)
    for line in client.api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in line, line
    digest = client_for(repository).manifest_digest(tag)
    assert digest is not None
    return digest


@dataclass(frozen=True)
class Answering:
    """Two images that answer like a model, pushed beside the tiny one: `good` answers
    what the iris response schema accepts, `bad` an answer it refuses."""

    good: Pushed
    bad: Pushed


@pytest.fixture(scope="module")
def answering(pushed: Pushed, base_image: str) -> Iterator[Answering]:
    client = docker_client()
    repository = pushed.registry
    try:
        dockerfile = (
            f"FROM {base_image}\nCOPY server.py /srv/server.py\nLABEL io.workbench.test={RUN}\n"
            'ENTRYPOINT ["python3", "/srv/server.py"]\n'
        )
        good = _build_and_push(
            client, repository, "answering", {"Dockerfile": dockerfile, "server.py": SERVER}
        )
        bad = _build_and_push(
            client,
            repository,
            "answering-bad",
            {"Dockerfile": f"FROM {repository}:answering\nENV ANSWER=bad\n"},
        )
        tags = ("answering", "answering-bad")
        ids = [str(client.images.get(f"{repository}:{tag}").id) for tag in tags]
        yield Answering(
            replace(pushed, digest=good, image_id=ids[0]),
            replace(pushed, digest=bad, image_id=ids[1]),
        )
    finally:
        for tag in ("answering-bad", "answering"):
            with contextlib.suppress(Exception):
                remove_image(client, f"{repository}:{tag}", force=True)


def way_back(to: Callable[[Answering], str]) -> Callable[[Path, Answering], None]:
    """production at 1.1.0, promoted after 1.0.0: its way back is 1.0.0, pushed as `to`."""

    def arrange(folder: Path, a: Answering) -> None:
        release(folder, "1.0.0", push=a.good.push_record(to(a)), image_id=a.good.image_id)
        release(folder, "1.1.0", previous="1.0.0", push=a.good.push_record(), image_id="x")
        moves = [
            ChannelMove(version=v, digest=a.good.digest, action="promote", at="t", by="Ana")
            for v in ("1.0.0", "1.1.0")
        ]
        channel = Channel(current="1.1.0", digest=a.good.digest, history=moves)
        save_channels(load_manifest(folder), {"production": channel})

    return arrange


@pytest.fixture
def a_swarm(docker_engine: object) -> Iterator[None]:
    """A single-node swarm for the test if the engine is in none; our services removed
    afterwards, and the swarm left if we made it."""
    with swarm_turn():
        client = docker_client()
        was = client.info()["Swarm"]["LocalNodeState"]
        networks = {n.name for n in client.networks.list()}
        if was != "active":
            client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        try:
            yield
        finally:
            mine = {"label": f"io.workbench.test={RUN}"}
            for service in client.services.list(filters=mine):
                service.remove()
            for _ in range(60):  # the tasks' containers go, asynchronously
                if not client.containers.list(ignore_removed=True, all=True, filters=mine):
                    break
                time.sleep(1)
            if was != "active" and not client.services.list():  # nobody else uses it
                client.swarm.leave(force=True)
                for network in client.networks.list(names=["docker_gwbridge"]):  # contains
                    if network.name == "docker_gwbridge" and network.name not in networks:
                        network.remove()


# --- the catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    fine: Callable[..., None]
    broken: Callable[..., None]
    cause: str
    needs: tuple[str, ...] = ()  # fixtures: pushed, a_swarm, answering (first: the cases'
    # argument)


PUSHED = ("pushed",)
CASES: dict[str, Case] = {
    "tag.git-clean": Case(clean, ignored_code, "features.py goes into the image but is ignored"),
    "tag.version-valid": Case(
        tag_version_fine, tag_version_copied, "releases/1.1.0.yaml says it is version 1.0.0"
    ),
    "tag.bump-sufficient": Case(bump_enough, bump_short, "a patch bump; the contract needs major"),
    "tag.no-regression": Case(as_good, worse, "lower by 0.17, over the tolerance 0.02"),
    "tag.git-tag": Case(annotated, lightweight, "v1.0.0 is a lightweight tag"),
    "tag.manifest-complete": Case(
        complete,
        hashes_a_file_in_no_commit,
        "features.py cannot be read at v1.0.0: it is not in the tagged commit",
    ),
    "tag.vulnerabilities": Case(
        advisories("0.24.0"),
        advisories("1.5.2"),
        "scikit-learn 1.5.2 is named by GHSA-test-0001 (PYSEC-2026-1), fixed in 1.5.3",
    ),
    "push.replay": Case(
        replayed(disagreeing=0),
        replayed(disagreeing=12),
        "prediction: disagreed on 12 of 200",
    ),
    "push.registry-reachable": Case(
        reachable, unreachable, "http://127.0.0.1:9/v2/ does not answer", PUSHED
    ),
    "push.tag-free": Case(ours, taken, f"not ours ({NOWHERE})", PUSHED),
    "push.digest-verified": Case(
        verified, not_the_tested_image, "not at the tested image sha256:1111", PUSHED
    ),
    "push.previous-resolvable": Case(
        previous_there,
        previous_gone,
        f"the previous release 1.0.0 ({NOWHERE}) cannot be resolved",
        PUSHED,
    ),
    "push.signed": Case(
        signing_with(lambda p: p.public_key),
        signing_with(lambda p: p.other_key),
        "refused 127.0.0.1",
        PUSHED,
    ),
    "push.attested": Case(
        attached_by(mine=True),
        attached_by(mine=False),
        "its DSSE signature is not the project's key's",
        PUSHED,
    ),
    "push.deployed-healthy": Case(
        deployed(healthy=True),
        deployed(healthy=False),
        "0 of 1 replicas running and healthy",
        ("pushed", "a_swarm"),
    ),
    "push.rollback-rehearsed": Case(
        way_back(lambda a: a.good.digest),
        way_back(lambda a: NOWHERE),
        f"/faults/tiny-{WORKER}@{NOWHERE} cannot be pulled from the registry: ",
        ("answering", "pushed"),
    ),
    "push.alerts-exist": Case(
        monitored(tampered=False),
        monitored(tampered=True),
        "promtool test rules rules.test.yml failed: Unit Testing: rules.test.yml FAILED: "
        "alertname: WorkbenchReplicasMissing",
        ("promtool",),
    ),
}


def test_the_catalogue_covers_every_automated_item_of_tag_and_push() -> None:
    assert sorted(CASES) == sorted(TAG_ITEMS + PUSH_ITEMS)


def marks(item_id: str) -> list[pytest.MarkDecorator]:
    """The tag cases need git only; the push cases the engine and a registry."""
    needs = CASES[item_id].needs if item_id in CASES else ("pushed",)
    if "pushed" not in needs:
        return []
    found = [pytest.mark.docker, pytest.mark.registry]
    if "a_swarm" in needs:  # it may wait for its turn at the swarm (tests/helpers.swarm_turn)
        return [*found, pytest.mark.slow, pytest.mark.timeout(2400)]
    return found


@pytest.mark.parametrize(
    "item_id", [pytest.param(i, id=i, marks=marks(i)) for i in TAG_ITEMS + PUSH_ITEMS]
)
def test_fault(item_id: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    case = CASES[item_id]
    parts = [request.getfixturevalue(name) for name in case.needs]
    p: Any = parts[0] if "pushed" in case.needs else None
    registry = (p.good if isinstance(p, Answering) else p).registry if p else None
    args = (p,) if p else ()

    fine = project(tmp_path / "fine", registry)
    case.fine(fine, *args)
    status, evidence = status_of(fine, item_id)
    assert status is Status.PASS, evidence

    broken = project(tmp_path / "broken", registry)
    case.broken(broken, *args)
    status, evidence = status_of(broken, item_id)
    assert status is Status.FAIL, evidence
    assert case.cause in " ".join(evidence), evidence
    if item_id == "push.signed":  # skopeo's own words for a signature by another key
        assert "cryptographic signature verification failed" in " ".join(evidence), evidence


@pytest.mark.docker
@pytest.mark.registry
def test_a_way_back_that_answers_outside_its_schema_fails_saying_where(
    tmp_path: Path, answering: Answering
) -> None:
    """The way back that works says what was read back: the version, the digest pulled,
    the image it is, the example sent and the answer. One that pulls and starts but answers
    an example outside its response schema fails, naming where the answer breaks it."""
    fine = project(tmp_path / "fine", answering.good.registry)
    way_back(lambda a: a.good.digest)(fine, answering)
    status, evidence = status_of(fine, "push.rollback-rehearsed")
    assert status is Status.PASS, evidence
    (said,) = evidence
    assert said.startswith(
        f"production: rollback target 1.0.0 pulled by digest {answering.good.digest} "
        f"(image {answering.good.image_id[:19]}), ready in "
    ), said
    assert "POST /predict setosa.json answered 200, valid against its response schema: " in said
    assert '"prediction": "setosa"' in said
    assert not docker_client().containers.list(
        ignore_removed=True,
        all=True,
        filters={"label": f"{PROJECT_ID_LABEL}={load_manifest(fine).project_id}"},
    )  # the rehearsal's container is gone

    folder = project(tmp_path / "iris", answering.good.registry)
    way_back(lambda a: a.bad.digest)(folder, answering)
    status, evidence = status_of(folder, "push.rollback-rehearsed")
    assert status is Status.FAIL, evidence
    said = " ".join(evidence)
    assert f"the way back to 1.0.0 ({answering.bad.digest}) fails" in said, evidence
    assert "breaks its response schema at $: 'probabilities' is a required property" in said

"""Step 5 checks: the registry."""

from __future__ import annotations

from workbench.checklist.checks import CheckContext, CheckResult, CheckSet, Inputs
from workbench.kernel import skopeo
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_text
from workbench.kernel.http import request
from workbench.kernel.oci import ImageRef, client_for
from workbench.project.records import ReleaseRecord
from workbench.project.releases import load_release, releases
from workbench.project.semver import SemVer
from workbench.steps.push.attestations import (
    provenance_in_registry,
    recorded,
    sbom_in_registry,
)
from workbench.steps.push.documents import provenance_finding, sbom_finding
from workbench.steps.push.keys import MAKE_ONE, public_key_path, public_key_pem
from workbench.steps.push.publish import config_digest
from workbench.steps.push.signing import signature_tag
from workbench.steps.push.verify import signs, verify_scratch
from workbench.steps.shared import of_latest_release

checks = CheckSet()


# What the registry or a running service says is read again after an hour (a tag
# overwritten, a signature deleted, a replica gone): never green on an old reading.
REMOTE = 3600.0


def _inputs(ctx: CheckContext) -> Inputs:
    return {"registry": ctx.manifest.registry or "unset"}


@checks.auto("push.registry-reachable", inputs=_inputs, max_age=REMOTE)
def registry_reachable(ctx: CheckContext) -> CheckResult:
    registry = ctx.manifest.registry
    if not registry:
        return CheckResult.failed(
            "`registry:` is not set in workbench.yaml",
            "set it to host:port/path, e.g. localhost:5000/team/model",
        )
    url = ImageRef.parse(registry).base_url + "/v2/"
    try:
        answer = request("GET", url, timeout=10)
    except OSError as exc:
        return CheckResult.failed(f"{url} does not answer ({type(exc).__name__}: {exc})")
    version = answer.header("docker-distribution-api-version") or ""
    if answer.status in (200, 401) and not version.startswith("registry/2"):
        return CheckResult.failed(
            f"{url} answered {answer.status} without the header "
            "Docker-Distribution-API-Version: registry/2.0: it is not a registry",
            "check `registry:` in workbench.yaml points at the registry, not a web page",
        )
    if answer.status == 200:
        return CheckResult.passed(f"{url} answers the distribution API (no login needed)")
    if answer.status == 401:
        try:
            client_for(registry).check()
        except WorkbenchError as exc:
            return CheckResult.failed(f"{url} needs credentials: {exc.paragraph}")
        return CheckResult.passed(
            f"{url} answers the distribution API; the credentials from "
            "the Docker configuration are accepted"
        )
    return CheckResult.failed(f"{url} answered {answer.status}, not the distribution API")


def _push_inputs(ctx: CheckContext) -> Inputs:
    """The registry and each release's push record: channel moves and the workbench's other
    bookkeeping never make these items stale."""
    pushes = [
        f"{v} {r.image.id} {r.push.pushed} {r.push.digest}"
        for v in releases(ctx.manifest)
        for r in [load_release(ctx.manifest, v)]
    ]
    return {"registry": ctx.manifest.registry or "unset", "pushes": sha256_text("\n".join(pushes))}


@checks.auto("push.tag-free", inputs=_push_inputs, max_age=REMOTE)
@of_latest_release("no release or no registry yet", needs_registry=True)
def tag_free(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    registry = client_for(ctx.manifest.registry or "")  # set: of_latest_release skips otherwise
    remote = registry.manifest_digest(str(version))
    recorded = document.push.digest
    if remote is None:
        return CheckResult.passed(f"{version} is not in the registry yet: free to push")
    if remote == recorded:
        return CheckResult.passed(f"{version} in the registry is our push ({remote})")
    return CheckResult.failed(
        f"the registry's {version} is {remote}, not ours ({recorded or 'not pushed'})"
    )


@checks.auto("push.digest-verified", inputs=_push_inputs, max_age=REMOTE)
@of_latest_release("no release or no registry yet", needs_registry=True)
def digest_verified(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    if not document.push.pushed:
        return CheckResult.failed(f"{version} is not pushed (`workbench push`)")
    registry = client_for(ctx.manifest.registry or "")  # set: of_latest_release skips otherwise
    remote = registry.manifest_digest(str(version))
    recorded = document.push.digest
    if remote != recorded:
        return CheckResult.failed(f"the registry serves {remote}, the release recorded {recorded}")
    config = config_digest(registry, str(recorded))
    if config != document.image.id:
        return CheckResult.failed(
            f"{version} in the registry ({recorded}) points at the config {config}, not at "
            f"the tested image {document.image.id}"
        )
    return CheckResult.passed(
        f"{version}: the registry's digest equals the pushed one: {recorded}",
        f"its config is the tested image {config} (the serve test ran that image id)",
    )


def _signing_inputs(ctx: CheckContext) -> Inputs:
    """The push records, the public key's bytes and whether signing is required."""
    path = public_key_path(ctx.manifest)
    key = sha256_text(path.read_text()) if path is not None and path.is_file() else "none"
    return {**_push_inputs(ctx), "key": key, "required": str(ctx.manifest.signing.required)}


@checks.auto("push.signed", inputs=_signing_inputs, max_age=REMOTE)
@of_latest_release("no release or no registry yet", needs_registry=True)
def signed(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    """skopeo's verdict on the pushed digest under a sigstoreSigned policy with the
    project's public key; a project that signs nothing is a warning saying how to."""
    digest = document.push.digest
    if not document.push.pushed or not digest:
        return CheckResult.skipped(f"{version} is not pushed yet: no signature to verify")
    if not signs(ctx.manifest):
        return CheckResult.warned(
            f"{version} ({digest}) is not signed: the project has no signing key; {MAKE_ONE}"
        )
    pem = public_key_pem(ctx.manifest)
    if pem is None:
        return CheckResult.failed(
            f"`signing.required: true` and no `signing.public_key` to verify with; {MAKE_ONE}"
        )
    ref = ImageRef.parse(ctx.manifest.registry or "")
    outcome = skopeo.verify(ref, f"@{digest}", pem, verify_scratch(ctx.manifest))
    policy = f"skopeo (sigstoreSigned policy, {ctx.manifest.signing.public_key})"
    if not outcome.ok:
        return CheckResult.failed(f"{policy} refused {ref.name}@{digest}: {outcome.said}")
    stored = client_for(ref.name).manifest_digest(signature_tag(digest))
    return CheckResult.passed(
        f"{policy} accepted {ref.name}@{digest}",
        f"the registry holds its signature {signature_tag(digest)} as {stored}",
    )


def _attested_inputs(ctx: CheckContext) -> Inputs:
    """What the release manifest records of its SBOM and provenance (their hashes), the push
    records (the attestations are read from the registry once pushed) and the public key."""
    files = [
        f"{v} {r.image.id} {sorted(r.hashes.files.items())} {r.push.digest} "
        f"{r.push.attestations} {r.push.attached_by}"
        for v in releases(ctx.manifest)
        for r in [load_release(ctx.manifest, v)]
    ]
    return {"releases": sha256_text("\n".join(files)), "key": _signing_inputs(ctx)["key"]}


@checks.auto("push.attested", inputs=_attested_inputs)
@of_latest_release("no release yet")
def attested(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    """Pushed and signed: the SBOM and provenance attached to the pushed digest, read back
    from the registry (`.sbom` hashing as the release manifest records, signed `.att`
    statements naming that digest). Not pushed yet, or made before releases were attested:
    the files at the release's tag."""
    pem = public_key_pem(ctx.manifest) if signs(ctx.manifest) else None
    digest = document.push.digest
    in_registry = document.push.pushed and digest and recorded(ctx.manifest, document)
    if pem is not None and in_registry and digest and ctx.manifest.registry:
        registry = client_for(ctx.manifest.registry)
        by = document.push.attached_by
        findings = [
            sbom_in_registry(ctx.manifest, registry, document, digest, pem, by),
            provenance_in_registry(ctx.manifest, registry, document, digest, pem, by=by),
        ]
    else:
        findings = [
            sbom_finding(ctx.manifest, document),
            provenance_finding(ctx.manifest, document),
        ]
    evidence = [f"{f.what}: {f.evidence}" for f in findings]
    if all(f.ok for f in findings) and pem is None and document.push.pushed:
        # The files are whole, and nothing vouches for them beside the image: said so, as
        # `workbench releases` says "attested: no" (a new user read both as contradicting).
        return CheckResult.warned(
            *evidence,
            f"nothing is attached to the pushed image ({digest}): the project has no signing "
            f"key, so its SBOM and provenance are only the files at the tag; {MAKE_ONE}",
        )
    if all(f.ok for f in findings):
        return CheckResult.passed(*evidence)
    unrecorded = [f for f in findings if "has no hash of" in f.evidence]
    if unrecorded and len(unrecorded) == len([f for f in findings if not f.ok]):
        return CheckResult.warned(
            *evidence, f"{version} was made before the workbench attested releases"
        )
    missing = any(f.evidence.startswith("no readable") for f in findings)
    fix = "run `workbench push` again: it attaches the attestations" if missing else ""
    return CheckResult.failed(*evidence, *([fix] if fix else []))


@checks.auto("push.previous-resolvable", inputs=_push_inputs, max_age=REMOTE)
def previous_resolvable(ctx: CheckContext) -> CheckResult:
    pushed: list[tuple[str, str]] = []
    for release in releases(ctx.manifest):
        record = load_release(ctx.manifest, release)
        if record.push.pushed and record.push.digest:
            pushed.append((str(release), record.push.digest))
    if len(pushed) < 2 or not ctx.manifest.registry:
        return CheckResult.skipped("fewer than two pushed releases: nothing to roll back to yet")
    version, digest = pushed[-2]
    client = client_for(ctx.manifest.registry)
    try:
        _, _, served = client.get_manifest(digest)
    except Exception as exc:  # a clear failure either way
        return CheckResult.failed(
            f"the previous release {version} ({digest}) cannot be resolved: {exc}"
        )
    return CheckResult.passed(
        f"the previous release {version} resolves to {served or digest}: rollback works"
    )


def _rehearsal_inputs(ctx: CheckContext) -> Inputs:
    """The registry, and each way back: the version a rollback of each channel would return
    to and the digest its release was pushed as."""
    from workbench.steps.push.rehearsal import targets

    ways = []
    for version, channels in sorted(targets(ctx.manifest).items()):
        try:
            digest = load_release(ctx.manifest, version).push.digest
        except WorkbenchError:
            digest = "unreadable"
        ways.append(f"{version} {digest} {' '.join(channels)}")
    return {"registry": ctx.manifest.registry or "unset", "ways": sha256_text("\n".join(ways))}


@checks.auto("push.rollback-rehearsed", inputs=_rehearsal_inputs, max_age=REMOTE)
def rollback_rehearsed(ctx: CheckContext) -> CheckResult:
    """Each channel's way back pulled by digest, started hardened and answered once
    (`workbench promote` records the same, rehearsed before it moves the channel)."""
    from workbench.steps.push.rehearsal import rehearse_all

    return rehearse_all(ctx.manifest, cancel=ctx.cancel, log=ctx.log)


def _deploy_inputs(ctx: CheckContext) -> Inputs:
    from workbench.project.releases import deployments_path, load_channels

    path = deployments_path(ctx.manifest)
    channels = {c: e.digest for c, e in load_channels(ctx.manifest).items()}
    return {
        "deployments": sha256_text(path.read_text()) if path.exists() else "none",
        "channels": sha256_text(repr(sorted(channels.items()))),
    }


@checks.auto("push.deployed-healthy", inputs=_deploy_inputs, max_age=REMOTE)
def deployed_healthy(ctx: CheckContext) -> CheckResult:
    """Each channel deployed to the swarm: its service runs the channel's digest, and every
    replica of it is running and healthy."""
    from workbench.project.releases import load_deployments
    from workbench.steps.push import swarm
    from workbench.steps.push.deploy import channel_image

    latest: dict[str, object] = {}
    for deployment in load_deployments(ctx.manifest):
        if deployment.target == "swarm":
            latest[deployment.channel] = deployment
    if not latest:
        return CheckResult.skipped("no channel is deployed to a swarm (`workbench deploy`)")
    client = swarm.swarm_client()
    evidence, bad = [], False
    for channel in sorted(latest):
        version, image = channel_image(ctx.manifest, channel)
        name = swarm.service_name(ctx.manifest, channel)
        service = swarm.find_service(client, name)
        if service is None:
            evidence.append(f"{channel}: the service {name} is gone")
            bad = True
            continue
        runs = swarm.running_image(service)
        wanted = swarm._replicas(service)
        healthy = len(swarm.healthy_tasks(client, name))
        on_digest = runs.endswith(image.split("@", 1)[1])
        bad = bad or not on_digest or healthy < wanted
        evidence.append(
            f"{channel}: {name} runs {runs.split('@')[-1][:19]} "
            + (f"(the channel's {version})" if on_digest else f"(NOT the channel's {version})")
            + f"; {healthy} of {wanted} replicas running and healthy"
        )
    return (CheckResult.failed if bad else CheckResult.passed)(*evidence)


def _alerts_inputs(ctx: CheckContext) -> Inputs:
    """The deployments, the channels, and every file of deploy/monitoring/."""
    folder = ctx.manifest.root / "deploy" / "monitoring"
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    listed = [f"{p.relative_to(folder).as_posix()} {sha256_text(p.read_text())}" for p in files]
    return {**_deploy_inputs(ctx), "monitoring": sha256_text("\n".join(listed))}


@checks.auto("push.alerts-exist", inputs=_alerts_inputs)
def alerts_exist(ctx: CheckContext) -> CheckResult:
    """Each channel deployed to the swarm: its rules in deploy/monitoring/<channel>/ watch
    the channel's digest and pass `promtool check config` and `promtool test rules`."""
    from workbench.project.releases import load_channels, load_deployments
    from workbench.steps.push.prometheus import verify

    deployed = sorted({d.channel for d in load_deployments(ctx.manifest) if d.target == "swarm"})
    if not deployed:
        return CheckResult.skipped("no channel is deployed to a swarm (`workbench deploy`)")
    channels = load_channels(ctx.manifest)
    evidence, ok = [], True
    for channel in deployed:
        entry = channels.get(channel)
        if entry is None or not entry.digest:
            evidence.append(f"{channel}: the channel points at no release")
            ok = False
            continue
        verdict = verify(ctx.manifest, channel, entry.digest)
        evidence += verdict.said
        ok = ok and verdict.ok
    return (CheckResult.passed if ok else CheckResult.failed)(*evidence)


def _replay_inputs(ctx: CheckContext) -> Inputs:
    """The recorded replays, the releases (a new candidate makes a replay old), the deployments
    and the monitoring settings."""
    from workbench.steps.push.replay import recorded

    replays = [f"{r.channel} {r.candidate} {r.replayed_at}" for r in recorded(ctx.manifest)]
    monitoring = ctx.manifest.monitoring
    return {
        **_deploy_inputs(ctx),
        "replays": sha256_text("\n".join(replays)),
        "releases": " ".join(str(v) for v in releases(ctx.manifest)),
        "monitoring": f"{monitoring.log_predictions} {monitoring.replay_min_agreement}",
    }


@checks.auto("push.replay", inputs=_replay_inputs)
def replayed(ctx: CheckContext) -> CheckResult:
    """The candidate (the latest release) replayed against production's logged traffic:
    under the team's minimum agreement it fails, naming each field that disagreed."""
    from workbench.checklist.checks import Status
    from workbench.project.releases import latest_release, load_deployments
    from workbench.steps.push.replay import judge, recorded
    from workbench.steps.push.report import Replays

    latest = latest_release(ctx.manifest)
    if latest is None:
        return CheckResult.skipped("no release yet: no candidate to replay")
    version, record = latest
    found = recorded(ctx.manifest)
    if not found:
        deployed = sorted({d.channel for d in load_deployments(ctx.manifest)})
        if not deployed:
            return CheckResult.skipped(
                "nothing is deployed (`workbench deploy`): no production traffic to replay"
            )
        if not ctx.manifest.monitoring.log_predictions:
            return CheckResult.warned(
                "prediction logging is off (`monitoring.log_predictions: false`): production "
                "keeps no requests to replay; set it to true, release and deploy"
            )
        return CheckResult.warned(
            f"{version} was never replayed against {', '.join(deployed)}: "
            f"`workbench replay --channel {deployed[0]} --candidate {version}`"
        )
    minimum = ctx.manifest.monitoring.replay_min_agreement
    verdicts = [judge(r, str(version), record.created, minimum) for r in found]
    evidence = [line for _, lines in verdicts for line in lines]
    report = Replays(replays=found)
    worst = {v for v, _ in verdicts}
    if "stale" in worst:
        return CheckResult(Status.STALE, evidence)
    if "fail" in worst:
        return CheckResult.failed(*evidence, report=report)
    if "warn" in worst:
        return CheckResult.warned(*evidence, report=report)
    return CheckResult.passed(*evidence, report=report)

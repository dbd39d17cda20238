"""Replay before promote, the parts without an engine: production's log lines read into its
logged predictions (with each single request's latency), a bounded repeatable sample, the
candidate's answers compared field by field, and the verdict against the team's minimum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.push import replay
from workbench.steps.push.replay import Answer, Logged
from workbench.steps.push.report import FieldAgreement, ReplayReport


def prediction(request_id: str, inputs: object, outputs: object, version: str = "1.0.0") -> str:
    return json.dumps(
        {
            "event": "prediction",
            "ts": 1.0,
            "request_id": request_id,
            "model_version": version,
            "inputs": inputs,
            "outputs": outputs,
        }
    )


def access(request_id: str, path: str, ms: float) -> str:
    return json.dumps(
        {"ts": 1.0, "request_id": request_id, "method": "POST", "path": path, "status": 200}
        | {"latency_ms": ms, "version": "1.0.0"}
    )


def test_log_lines_read_into_predictions_with_each_single_requests_latency() -> None:
    lines = [
        "INFO:     Started server process [1]",  # uvicorn's own lines are skipped
        prediction("a", {"x": 1}, {"y": "p"}),
        access("a", "/predict", 1.5),
        prediction("b", {"x": 2}, {"y": "q"}),
        prediction("b", {"x": 3}, {"y": "r"}),
        access("b", "/predict/batch", 9.0),  # a batch's latency is not one record's
        prediction("c", {"x": 4}, {"y": "s"}),  # its access line was not kept
        '{"event": "prediction", "broken',
        "[1, 2]",
        access("d", "/health/ready", 0.2),
    ]
    found = replay.parse(lines)
    assert [(f.request_id, f.inputs, f.outputs, f.latency_ms) for f in found] == [
        ("a", {"x": 1}, {"y": "p"}, 1.5),
        ("b", {"x": 2}, {"y": "q"}, None),
        ("b", {"x": 3}, {"y": "r"}, None),
        ("c", {"x": 4}, {"y": "s"}, None),
    ]
    assert {f.version for f in found} == {"1.0.0"}
    assert replay.access_latencies(lines) == {"a": 1.5}


def test_the_sample_is_bounded_repeatable_and_in_the_order_logged() -> None:
    logged = [Logged(str(i), {"x": i}, {"y": i}, "1.0.0") for i in range(1000)]
    first = replay.sample(logged, 200)
    assert len(first) == 200
    assert first == replay.sample(logged, 200)  # the same logs give the same sample
    assert [int(f.request_id) for f in first] == sorted(int(f.request_id) for f in first)
    assert len({f.request_id for f in first}) == 200
    assert replay.sample(logged[:5], 200) == logged[:5]
    with pytest.raises(WorkbenchError, match="--limit 0 replays nothing"):
        replay.sample(logged, 0)


@pytest.mark.parametrize(
    ("production", "candidate", "same"),
    [
        (0.1 + 0.2, 0.3, True),  # float printing
        (0.5, 0.52, False),
        ({"a": 1.0, "b": [1, 2]}, {"a": 1, "b": [1, 2]}, True),
        ({"a": 1.0}, {"a": 1.0, "b": 2}, False),
        ([1, 2], [1, 2, 3], False),
        (True, 1, False),
        ("setosa", "setosa", True),
        ("setosa", "virginica", False),
    ],
)
def test_answers_agree_within_a_tolerance_element_by_element(
    production: object, candidate: object, same: bool
) -> None:
    assert replay.agree(production, candidate) is same


def test_agreement_is_counted_per_field_and_every_error_named() -> None:
    sent = [
        Logged("p1", {"x": 1}, {"label": "a", "score": 0.9}, "1.0.0"),
        Logged("p2", {"x": 2}, {"label": "b", "score": 0.8}, "1.0.0"),
        Logged("p3", {"x": 3}, {"label": "a", "score": 0.7}, "1.0.0"),
        Logged("p4", {"x": 4}, {"label": "a", "score": 0.6}, "1.0.0"),
    ]
    answers = [
        Answer(200, {"label": "a", "score": 0.9, "email": "x"}, "c1", 1.0),
        Answer(200, {"label": "a", "score": 0.8, "email": "x"}, "c2", 1.0),
        Answer(422, {"error": "the request does not match the schema"}, "c3", 1.0),
        Answer(0, None, None, None, error="ConnectionError: refused"),
    ]
    agreed, fields, errors = replay.compare(sent, answers, frozenset({"email"}))
    assert agreed == 1
    assert fields == [
        FieldAgreement(field="label", agreed=1, compared=2),
        FieldAgreement(field="score", agreed=2, compared=2),
        FieldAgreement(field="email", absent="never logged (x-log: false)"),
    ]
    assert [(e.status, e.request_id, e.production_request_id) for e in errors] == [
        (422, "c3", "p3"),
        (0, None, "p4"),
    ]
    assert errors[0].message == "the request does not match the schema"
    assert errors[1].message == "ConnectionError: refused"


def report(agreed: int = 200, **changes: object) -> ReplayReport:
    fields = [
        FieldAgreement(field="prediction", agreed=agreed, compared=200),
        FieldAgreement(field="probabilities", agreed=200, compared=200),
    ]
    values: dict[str, object] = {
        "channel": "production",
        "candidate": "1.1.0",
        "production": "1.0.0",
        "source": "2 replicas of the service iris-production",
        "replayed_at": "2026-12-05T10:00:00Z",
        "logged": 260,
        "sent": 200,
        "answered": 200,
        "agreed": agreed,
        "fields": fields,
        "candidate_p50_ms": 1.2,
        "candidate_p99_ms": 3.4,
        "minimum": 0.95,
    }
    return ReplayReport(**(values | changes))  # type: ignore[arg-type]


def test_under_the_minimum_the_replay_fails_naming_the_field_and_its_count() -> None:
    verdict, lines = replay.judge(report(agreed=180), "1.1.0", "2026-12-05T09:00:00Z", 0.95)
    assert verdict == "fail"
    said = "\n".join(lines)
    assert "prediction: disagreed on 20 of 200" in said
    assert "probabilities: agreed on 200 of 200" in said
    assert "agreement 90.0% is under the team's minimum 95.0%" in said
    assert "production's is not known" in said  # no access line: said, not guessed
    assert replay.judge(report(agreed=195), "1.1.0", "2026-12-05T09:00:00Z", 0.95)[0] == "pass"
    # the minimum as workbench.yaml says it now, not as it was when the replay ran
    assert replay.judge(report(agreed=195), "1.1.0", "2026-12-05T09:00:00Z", 0.99)[0] == "fail"


def test_a_replay_of_another_or_an_older_candidate_is_stale() -> None:
    verdict, lines = replay.judge(report(), "1.2.0", "2026-12-05T09:00:00Z", 0.95)
    assert verdict == "stale" and "the candidate is 1.2.0" in lines[0]
    verdict, lines = replay.judge(report(), "1.1.0", "2026-12-05T11:00:00Z", 0.95)
    assert verdict == "stale" and "released 2026-12-05T11:00:00Z" in lines[0]


def test_without_a_minimum_a_disagreement_warns_and_latency_is_compared_when_logged() -> None:
    verdict, lines = replay.judge(
        report(agreed=199, minimum=None, production_p50_ms=1.0, production_p99_ms=2.0),
        "1.1.0",
        "2026-12-05T09:00:00Z",
        None,
    )
    assert verdict == "warn"
    said = "\n".join(lines)
    assert "no minimum set" in said
    assert "latency p50 1.2 ms, p99 3.4 ms; production's p50 1.0 ms, p99 2.0 ms" in said


def test_a_replay_is_recorded_and_read_back_typed(tmp_path: Path) -> None:
    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    assert replay.recorded(manifest) == []
    replay.save(manifest, report())
    replay.save(manifest, report(channel="staging"))
    assert replay.load(manifest, "production") == report()
    assert [r.channel for r in replay.recorded(manifest)] == ["production", "staging"]
    path = manifest.root / ".workbench" / "push" / "replay-production.json"
    path.write_text('{"channel": 1}')
    with pytest.raises(WorkbenchError, match="does not read as a replay"):
        replay.load(manifest, "production")


def test_percentiles_and_hidden_fields() -> None:
    assert replay.percentile([], 50) is None
    assert replay.percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert replay.percentile([3.0, 1.0, 2.0], 50) == 2.0
    schema = {"properties": {"a": {"type": "string", "x-log": False}, "b": {"type": "number"}}}
    assert replay.hidden(schema) == frozenset({"a"})


def test_promote_says_what_the_last_replay_said_of_the_release(tmp_path: Path) -> None:
    from commands.output import console
    from commands.replay import show_replay
    from tests.helpers import hand_made_release

    root = copy_example("iris", tmp_path / "iris")
    with (root / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write("monitoring:\n  replay_min_agreement: 0.95\n")
    manifest = load_manifest(root)
    hand_made_release(manifest, "1.0.0", [])  # released 2026-11-24T10:00:00Z
    hand_made_release(manifest, "1.1.0", [])
    with console.capture() as captured:
        show_replay(manifest, "1.1.0", "production")
    assert "1.1.0 was never replayed against production's traffic" in captured.get()
    replay.save(manifest, report(agreed=180))
    with console.capture() as captured:
        show_replay(manifest, "1.1.0", "production")
    said = " ".join(captured.get().split())
    assert "replay: fail" in said and "prediction: disagreed on 20 of 200" in said
    assert replay.headlines(manifest, ["1.1.0", "1.0.0", "9.9.9"]) == {
        ("1.1.0", "production"): "replay: fail, 180 of 200 answered as production (90.0%); "
        "prediction disagreed on 20",
        ("1.0.0", "production"): "replay: stale (it ran 1.1.0; replay this release)",
    }


def test_a_file_of_log_lines_is_read_and_an_empty_one_says_why_nothing_replays(
    tmp_path: Path,
) -> None:
    from workbench.steps.push.replaying import file_lines, replay_candidate

    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    logs = tmp_path / "production.jsonl"
    logs.write_text(prediction("a", {"x": 1}, {"y": 1}) + "\n" + access("a", "/predict", 2.0))
    lines, where = file_lines(logs)
    assert where == str(logs) and [f.latency_ms for f in replay.parse(lines)] == [2.0]
    with pytest.raises(WorkbenchError, match=r"missing\.jsonl cannot be read"):
        file_lines(tmp_path / "missing.jsonl")
    logs.write_text(access("a", "/predict", 2.0) + "\n")
    with pytest.raises(WorkbenchError) as nothing:
        replay_candidate(manifest, "production", "1.0.0", source=logs)
    said = nothing.value.paragraph
    assert "no prediction is logged" in said and "monitoring.log_predictions is off" in said
    assert replay.recorded(manifest) == []  # nothing replayed, nothing recorded


def test_a_team_minimum_makes_the_replay_a_gate_on_promote_of_a_deployed_channel(
    tmp_path: Path,
) -> None:
    """`a team can make it a gate with a minimum agreement`: with the minimum set and the
    channel serving from a swarm, promote refuses a release never replayed, replayed stale,
    or under the minimum; a passing replay, or no traffic to replay, lets it through."""
    from tests.helpers import hand_made_release
    from workbench.project.records import Deployment
    from workbench.project.releases import save_deployments

    root = copy_example("iris", tmp_path / "iris")
    with (root / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write("monitoring:\n  replay_min_agreement: 0.95\n")
    manifest = load_manifest(root)
    hand_made_release(manifest, "1.0.0", [])
    hand_made_release(manifest, "1.1.0", [])
    replay.require_replay(manifest, "1.1.0", "production")  # nothing deployed: no traffic
    save_deployments(
        manifest,
        [
            Deployment(
                channel="production", target="swarm", service="iris-production",
                version="1.0.0", digest="sha256:a", at="2026-12-05T08:00:00Z", by="Ana",
                result="created",
            )
        ],
    )  # fmt: skip
    with pytest.raises(WorkbenchError, match=r"1\.1\.0 was never replayed against production"):
        replay.require_replay(manifest, "1.1.0", "production")
    from workbench.steps.push import publish

    with pytest.raises(WorkbenchError, match="never replayed"):  # promote asks it first
        publish.promote(manifest, "1.1.0", "production", "Ana")
    replay.save(manifest, report(agreed=180))
    with pytest.raises(WorkbenchError, match=r"refused: its replay is fail: .*disagreed on 20"):
        replay.require_replay(manifest, "1.1.0", "production")
    with pytest.raises(WorkbenchError, match="its replay is stale"):
        replay.require_replay(manifest, "1.0.0", "production")  # the replay ran 1.1.0
    replay.save(manifest, report(agreed=199))
    replay.require_replay(manifest, "1.1.0", "production")  # 99.5%: promoted
    relaxed = load_manifest(root)
    object.__setattr__(relaxed.monitoring, "replay_min_agreement", None)
    replay.save(relaxed, report(agreed=10))
    replay.require_replay(relaxed, "1.1.0", "production")  # no minimum: shown, not a gate


def test_a_replay_that_compared_nothing_or_too_few_is_no_agreement() -> None:
    """A reviewer's finding: with every answer field `x-log: false` nothing was compared,
    and 2 wrong answers of 2 counted as 100% agreement (passing the gate on promote); so
    did `--limit 1` with one agreeing request of 1,000 logged."""
    hidden = [FieldAgreement(field="prediction", agreed=0, compared=0, absent="x-log: false")]
    verdict, lines = replay.judge(
        report(agreed=200, fields=hidden), "1.1.0", "2026-12-05T09:00:00Z", 0.95
    )
    assert verdict == "warn" and "no answer field could be compared" in lines[-1]
    few = report(agreed=1, sent=1, answered=1, logged=1000)
    few = ReplayReport(
        **{**{f: getattr(few, f) for f in few.__struct_fields__}, "fields": [
            FieldAgreement(field="prediction", agreed=1, compared=1)
        ]}
    )  # fmt: skip
    verdict, lines = replay.judge(few, "1.1.0", "2026-12-05T09:00:00Z", 0.95)
    assert verdict == "warn" and "only 1 of 1000 logged requests" in lines[-1]
    # all there is: 30 logged, 30 replayed, judged
    whole = ReplayReport(
        **{**{f: getattr(few, f) for f in few.__struct_fields__}, "logged": 30, "sent": 30,
           "answered": 30, "agreed": 30,
           "fields": [FieldAgreement(field="prediction", agreed=30, compared=30)]}
    )  # fmt: skip
    assert replay.judge(whole, "1.1.0", "2026-12-05T09:00:00Z", 0.95)[0] == "pass"


def test_a_channel_that_is_no_tag_name_is_refused_before_it_becomes_a_file(
    tmp_path: Path,
) -> None:
    """`--channel ../../../schema/examples/setosa` wrote over an example request."""
    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    with pytest.raises(WorkbenchError, match="is not a channel name"):
        replay.save(manifest, report(channel="../../../schema/examples/setosa"))
    with pytest.raises(WorkbenchError, match="is not a channel name"):
        replay.load(manifest, "a/b")


def test_a_service_of_the_same_name_from_another_project_is_not_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Service names can collide (project `churn`, channel `model-prod`; project
    `churn-model`, channel `prod`): another project's logs must never gate this promote."""
    from types import SimpleNamespace

    from workbench.steps.push import replaying, swarm
    from workbench.steps.serve.run import PROJECT_ID_LABEL

    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    name = swarm.service_name(manifest, "production")
    spec = {"TaskTemplate": {"ContainerSpec": {"Labels": {PROJECT_ID_LABEL: "someone-else"}}}}
    service = SimpleNamespace(name=name, attrs={"Spec": spec}, tasks=lambda **_: [])
    client = SimpleNamespace(services=SimpleNamespace(list=lambda **_: [service]))
    monkeypatch.setattr(swarm, "swarm_client", lambda: client)
    with pytest.raises(WorkbenchError, match="was not deployed by this project"):
        replaying.service_lines(manifest, "production")
    spec["TaskTemplate"]["ContainerSpec"]["Labels"][PROJECT_ID_LABEL] = manifest.project_id
    with pytest.raises(WorkbenchError, match=r"no replica of .* runs on this engine"):
        replaying.service_lines(manifest, "production")  # ours: read (none runs here)


@pytest.mark.parametrize("pulled", [True, False])
def test_an_image_pulled_for_the_replay_is_removed_after_it_and_a_local_one_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pulled: bool
) -> None:
    """The candidate's image pulled from the registry only to replay against it was left on
    the engine; the tested image already there is the user's and stays."""
    import contextlib
    from types import SimpleNamespace

    from workbench.steps.push import replaying

    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    logs = tmp_path / "production.jsonl"
    logs.write_text(prediction("a", {"x": 1}, {"y": 1}) + "\n")
    image = "127.0.0.1:5000/iris@sha256:" + "a" * 64 if pulled else "sha256:" + "b" * 64
    removed: list[str] = []
    engine = SimpleNamespace(images=SimpleNamespace(remove=removed.append))

    @contextlib.contextmanager
    def running(_client: object, ran: str, *_args: object, **_kwargs: object):  # type: ignore[no-untyped-def]
        assert ran == image
        yield SimpleNamespace(url="http://127.0.0.1:1", container=None)

    monkeypatch.setattr(replaying, "candidate_image", lambda *_: (image, pulled))
    monkeypatch.setattr(replaying, "docker_client", lambda: engine)
    monkeypatch.setattr(replaying.run, "running", running)
    monkeypatch.setattr(replaying, "_ask", lambda _url, _item: Answer(200, {"y": 1}, "r", None))
    monkeypatch.setattr(replaying, "_with_latency", lambda _container, answers: answers)
    report = replaying.replay_candidate(manifest, "production", "1.0.0", source=logs)
    assert report.sent == 1 and report.answered == 1
    assert removed == ([image] if pulled else [])

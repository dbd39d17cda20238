"""Talking to the model's own environment through its interpreter, in a subprocess.

The workbench runs in its own environment; the model's libraries are only ever
imported by the model's interpreter, so nothing of ours leaks into a snapshot.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.kernel.confine import check_inside, read_bounded
from workbench.kernel.environ import without_secrets
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import runtime_dir
from workbench.kernel.yamlio import load_yaml
from workbench.project.answers_cache import answers_key, cached_payload, keep_payload
from workbench.project.manifest import Manifest
from workbench.project.model_failures import model_failure
from workbench.project.model_files import MODEL_FOLDER, staged_model
from workbench.project.model_session import (
    ModelSession,
    cannot_run,
    no_interpreter,
    not_python,
    open_session,
)
from workbench.runtime.rules import column_dtypes


@dataclass(frozen=True)
class InProcessAnswers:
    answers: list[dict[str, Any]]
    modules: list[str]
    warnings: list[str]
    feature_names: list[str] | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    module_files: dict[str, str] = field(default_factory=dict)


def _request_schema(manifest: Manifest) -> dict[str, Any]:
    path = manifest.resolve(manifest.schema.request)
    if not path.exists():
        return {}
    schema = load_yaml(path, what="request schema")
    if isinstance(schema, dict) and not isinstance(schema.get("properties", {}), dict):
        raise WorkbenchError(
            f"{path}: `properties` is a "
            f"{'list' if isinstance(schema['properties'], list) else 'single value'}, "
            "not a mapping of each field's name to its schema.",
            fix="write `properties:` as `name: {type: ...}` lines, or infer the schema again "
            "with `workbench schema infer --from SAMPLE --force`.",
        )
    return schema if isinstance(schema, dict) else {}


def request_features(manifest: Manifest) -> list[str]:
    """The request's fields in the order a model trained on arrays takes them: the schema's
    `x-feature-order`, else the order of its properties (the runtime does the same)."""
    schema = _request_schema(manifest)
    order = schema.get("x-feature-order")
    if isinstance(order, list):
        return [str(name) for name in order]
    return [str(name) for name in schema.get("properties", {}) or {}]


def _not_json(constant: str) -> Any:
    raise ValueError(f"`{constant}` is not JSON")


def load_examples(
    manifest: Manifest, *, missing_ok: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The example requests, by file name; with `missing_ok`, none when the folder is absent
    (the snapshot may come before the contract). Each must be a regular file in the project,
    no bigger than the server accepts (`serve.max_body_bytes`): a link to /dev/zero or out
    of the project is refused before a byte is read."""
    folder = manifest.resolve(manifest.schema.examples)
    check_inside(manifest.root, folder, what="the examples folder", folder=True)
    if not folder.is_dir() and missing_ok:
        return []
    if not folder.is_dir():
        raise WorkbenchError(
            f"{folder}: the examples folder (schema.examples in workbench.yaml) does not exist.",
            fix="let `workbench schema infer --from SAMPLE` write three from a data sample (a "
            "CSV, Parquet or JSON(L) file), or create it with one JSON file per example request.",
        )
    examples = []
    for path in sorted(folder.glob("*.json")):
        check_inside(manifest.root, path, what="an example request")
        data = read_bounded(
            path,
            limit=manifest.serve.max_body_bytes,
            what="example request",
            setting="serve.max_body_bytes",
        )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WorkbenchError(
                f"{path}: not UTF-8 text, so not a JSON example.",
                fix="save it as UTF-8 JSON, or move it out of the examples folder.",
            ) from None
        try:
            record = json.loads(text, parse_constant=_not_json)
        except ValueError as exc:
            if not isinstance(exc, json.JSONDecodeError):
                raise WorkbenchError(
                    f"{path}: {exc}; strict JSON has no such value and the server answers 400 "
                    "to it, so it cannot be a valid example.",
                    fix="write a number, or leave the field out (or null, if the schema allows).",
                ) from None
            raise WorkbenchError(
                f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}).",
                fix="correct the example file.",
            ) from None
        examples.append((path.name, record))
    return examples


def run_json_script(
    interpreter: Path,
    script: Path,
    stdin: str = "",
    *,
    timeout: float,
    cwd: Path | None = None,
    isolated: bool = False,
) -> dict[str, Any]:
    """Run one of our stdlib-only scripts in the model's interpreter; its JSON answer.

    Every way this fails (no such interpreter, not runnable, too slow, not Python)
    becomes one clear error naming the interpreter.
    """
    if not interpreter.exists():
        raise no_interpreter(interpreter)
    argv = [str(interpreter), *(["-I"] if isolated else []), str(script)]
    try:
        result = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env=without_secrets(),  # the project's code runs there: none of our secrets
        )
    except OSError as exc:
        raise cannot_run(interpreter, exc) from None
    except subprocess.TimeoutExpired:
        raise WorkbenchError(f"{interpreter} did not answer within {timeout:.0f} s.") from None
    try:
        payload: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise not_python(interpreter, result.stderr) from None
    return payload


def predict_in_model_env(
    manifest: Manifest,
    records: list[dict[str, Any]],
    *,
    timeout: float = 300,
    tolerate: bool = False,
    features: list[str] | None = None,
    track_reads: bool = False,
) -> InProcessAnswers:
    """The model's answers to `records`, computed by the model's own interpreter. With
    `tolerate`, a record the model fails on answers {"__error__": ...} instead; with
    `track_reads`, a predictor class's records note which fields it read (`facts`)."""
    session = open_session(manifest)  # inside `with model_session(manifest):`
    if session is not None:
        return _predict_staged(
            manifest, session.app, records, timeout, tolerate, features, track_reads, session
        )
    with staged_model(manifest) as app:
        return _predict_staged(manifest, app, records, timeout, tolerate, features, track_reads)


def _predict_staged(
    manifest: Manifest,
    app: Path,
    records: list[dict[str, Any]],
    timeout: float,
    tolerate: bool,
    features: list[str] | None,
    track_reads: bool = False,
    session: ModelSession | None = None,
) -> InProcessAnswers:
    interpreter = manifest.interpreter()
    model_dir = app / MODEL_FOLDER
    request = {
        "flavor": manifest.model.flavor,
        "root": str(model_dir),
        "artifact": manifest.model.artifact,
        "predictor": manifest.model.predictor,
        "labels": list(manifest.model.labels),
        "features": features if features is not None else request_features(manifest),
        # The column types the image gives a DataFrame model: the same answers here (not
        # while inferring a schema: the fields' types are what is being learnt).
        "dtypes": column_dtypes(_request_schema(manifest)) if features is None else None,
        "records": records,
        "tolerate": tolerate,
        # Only a predictor class's records are tracked (the script ignores the flag otherwise):
        # sent as false then, so the snapshot's, the schema check's and the serve test's
        # questions about the examples are one question, asked of the interpreter once.
        "track_reads": track_reads and manifest.model.flavor == "python",
    }
    script = runtime_dir() / "inprocess.py"
    key = answers_key(manifest, request, script=script, app=app)
    payload = cached_payload(manifest, key)
    if payload is None:
        asked_at = time.time()
        if session is not None:
            payload = session.ask(request, timeout)
            asked_at = session.started_at  # a later answer used what earlier ones loaded
            if "error" in payload and payload.get("stage") == "load" and session.asked > 1:
                # A model that cannot be loaded twice in one process (a global registered
                # at load): asked of a fresh interpreter, as without a session.
                asked_at = time.time()
                payload = run_json_script(
                    interpreter, script, json.dumps(request), timeout=timeout, cwd=app
                )
        else:
            payload = run_json_script(
                interpreter, script, json.dumps(request), timeout=timeout, cwd=app
            )
        if answers_key(manifest, request, script=script, app=app) == key:  # nothing moved
            keep_payload(manifest, key, payload, app, asked_at=asked_at)
    if "error" in payload:
        fields = [] if features is not None else request_features(manifest)
        raise model_failure(manifest, app, interpreter, payload, fields)
    return InProcessAnswers(
        answers=payload["answers"],
        modules=payload["modules"],
        warnings=payload.get("warnings", []),
        feature_names=payload.get("feature_names"),
        facts=payload.get("facts") or {},
        module_files=payload.get("module_files") or {},
    )

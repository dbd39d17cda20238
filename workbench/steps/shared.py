"""Inputs and computations that the checks of several steps share."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workbench.checklist.checks import CheckContext, CheckResult, Inputs
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.kernel.yamlio import load_yaml
from workbench.project.manifest import Manifest
from workbench.project.model_env import InProcessAnswers, load_examples, predict_in_model_env
from workbench.project.model_files import predictor_module
from workbench.project.records import ReleaseRecord
from workbench.project.releases import latest_release as project_latest_release
from workbench.project.semver import SemVer


def latest_release(ctx: CheckContext) -> tuple[SemVer, ReleaseRecord] | None:
    """The project's highest release and its manifest; None before the first."""
    return project_latest_release(ctx.manifest)


OfRelease = Callable[[CheckContext, SemVer, ReleaseRecord], CheckResult]


def of_latest_release(
    skip: str = "no release yet", *, needs_registry: bool = False
) -> Callable[[OfRelease], Callable[[CheckContext], CheckResult]]:
    """A check of the latest release: handed its version and manifest, and skipped with
    `skip` before the first release (or, with `needs_registry`, while no registry is set)."""

    def wrap(check: OfRelease) -> Callable[[CheckContext], CheckResult]:
        @functools.wraps(check)
        def run(ctx: CheckContext) -> CheckResult:
            latest = latest_release(ctx)
            if latest is None or (needs_registry and not ctx.manifest.registry):
                return CheckResult.skipped(skip)
            return check(ctx, *latest)

        return run

    return wrap


PROSE = ("description", "$comment", "title", "examples")  # words about the contract
VALUES = ("enum", "const", "default")  # values, compared as they are


def contract_digest(path: Path) -> str:
    """The request schema as the model's answers depend on it: its structure, without the
    words around it (a description rewritten made `snapshot.model-loads`, a gate, stale and
    `tag` refuse: a new user's trial). Values (`enum`, `const`, `default`) are kept whole,
    whatever words they hold. The file's bytes when it cannot be read so."""

    def bare(node: Any) -> Any:
        if isinstance(node, dict):
            # A field named `title` is a schema (a dict) under `properties`: kept.
            return {
                str(k): (v if k in VALUES else bare(v))
                for k, v in node.items()
                if k not in PROSE or isinstance(v, dict)
            }
        if isinstance(node, list):
            return [bare(v) for v in node]
        return node

    try:
        schema = bare(load_yaml(path, what="the request schema"))
        return sha256_text(json.dumps(schema, sort_keys=True, default=str))
    except Exception:  # unreadable, or keys json cannot sort: the bytes decide
        return file_digest(path)


def model_inputs(ctx: CheckContext) -> Inputs:
    """What the model's answers depend on: its section of workbench.yaml (not the whole
    file: a serve, registry or release setting changes no answer, and must not make the
    model's checks stale), its files, its interpreter, the examples and the request."""
    m = ctx.manifest
    inputs = {
        "model": json.dumps(asdict(m.model), sort_keys=True),
        "examples": file_digest(m.resolve(m.schema.examples)),
        "request": contract_digest(m.resolve(m.schema.request)),
        "interpreter": str(m.interpreter()),
    }
    if m.model.artifact:
        inputs["artifact"] = file_digest(m.resolve(m.model.artifact))
    for code in m.model.code:
        inputs[f"code:{code}"] = file_digest(m.resolve(code))
    if m.model.predictor:  # the module the predictor class is in (at the root, or src/)
        module, found = predictor_module(m)
        src = m.root / "src" / module
        where = found or (src if src.exists() else None)
        missing = f"{module} not at the project's root"
        inputs["predictor"] = file_digest(where) if where else missing
    return inputs


def schema_inputs(ctx: CheckContext) -> Inputs:
    m = ctx.manifest
    return {
        "request": file_digest(m.resolve(m.schema.request)),
        "response": file_digest(m.resolve(m.schema.response)),
    }


def examples_and_schema_inputs(ctx: CheckContext) -> Inputs:
    m = ctx.manifest
    return {**schema_inputs(ctx), "examples": file_digest(m.resolve(m.schema.examples))}


def model_answers(ctx: CheckContext) -> tuple[list[str], InProcessAnswers]:
    """The model's answers to the examples, computed once per run and shared."""

    def compute() -> tuple[list[str], InProcessAnswers]:
        manifest: Manifest = ctx.manifest
        examples = load_examples(manifest)
        ctx.log(f"asking the model in {manifest.interpreter()} about {len(examples)} examples")
        records = [record for _, record in examples]
        answers = predict_in_model_env(manifest, records, track_reads=True)
        return [name for name, _ in examples], answers

    result: tuple[list[str], InProcessAnswers] = ctx.memo("model-answers", compute)
    return result

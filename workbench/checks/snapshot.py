"""Step 1 checks: the model's environment."""

from __future__ import annotations

import json
import subprocess

from workbench.checklist.registry import CheckContext, CheckResult, Inputs, auto_check
from workbench.checks.common import model_answers, model_inputs

PROBE = (
    "import json, platform, sys; print(json.dumps({'version': platform.python_version(), "
    "'implementation': platform.python_implementation(), 'system': platform.system(), "
    "'machine': platform.machine()}))"
)


def _interpreter_inputs(ctx: CheckContext) -> Inputs:
    interpreter = ctx.manifest.interpreter()
    try:
        stamp = str(interpreter.stat().st_mtime_ns)
    except OSError:
        stamp = "missing"
    return {"interpreter": str(interpreter), "stamp": stamp}


@auto_check("snapshot.python-known", inputs=_interpreter_inputs)
def python_known(ctx: CheckContext) -> CheckResult:
    interpreter = ctx.manifest.interpreter()
    try:
        out = subprocess.run(
            [str(interpreter), "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        return CheckResult.failed(f"{interpreter} cannot be run: {exc}")
    if out.returncode != 0:
        return CheckResult.failed(f"{interpreter} is not a working Python: {out.stderr.strip()}")
    info = json.loads(out.stdout)
    return CheckResult.passed(
        f"{info['implementation']} {info['version']} on {info['system']} {info['machine']}",
        f"interpreter {interpreter}",
        **info,
    )


@auto_check("snapshot.model-loads", inputs=model_inputs)
def model_loads(ctx: CheckContext) -> CheckResult:
    names, answers = model_answers(ctx)
    if not names:
        return CheckResult.failed("there are no example requests to try the model on")
    evidence = [
        f"{name}: {answer.get('prediction', json.dumps(answer, sort_keys=True)[:80])}"
        for name, answer in zip(names, answers.answers, strict=True)
    ]
    return CheckResult.passed(f"loaded and answered {len(names)} examples", *evidence)

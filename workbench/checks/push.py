"""Step 5 checks: the registry."""

from __future__ import annotations

from workbench.checklist.registry import CheckContext, CheckResult, Inputs, auto_check
from workbench.http import request


def registry_base_url(registry: str) -> str:
    """Loopback registries speak plain HTTP (as Docker allows); others HTTPS."""
    host = registry.split("/")[0]
    plain = host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    return f"{'http' if plain else 'https'}://{host}"


def _inputs(ctx: CheckContext) -> Inputs:
    return {"registry": ctx.manifest.registry or "unset"}


@auto_check("push.registry-reachable", inputs=_inputs)
def registry_reachable(ctx: CheckContext) -> CheckResult:
    registry = ctx.manifest.registry
    if not registry:
        return CheckResult.failed(
            "`registry:` is not set in workbench.yaml",
            "set it to host:port/path, e.g. localhost:5000/team/model",
        )
    url = registry_base_url(registry) + "/v2/"
    try:
        answer = request("GET", url, timeout=10)
    except OSError as exc:
        return CheckResult.failed(f"{url} does not answer ({type(exc).__name__}: {exc})")
    if answer.status == 200:
        return CheckResult.passed(f"{url} answers the distribution API (no login needed)")
    if answer.status == 401:
        return CheckResult.passed(f"{url} answers the distribution API and asks for credentials")
    return CheckResult.failed(f"{url} answered {answer.status}, not the distribution API")

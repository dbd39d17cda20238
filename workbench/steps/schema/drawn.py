"""Records drawn from a schema by hypothesis-jsonschema, kept between commands.

Drawing 50 records of a schema costs the serve test over a second (hypothesis's import and
its search), and `serve --test`, the tag's test of its release candidate and the TUI draw
again for the same schema. A draw for a seed is not the same in every process: hypothesis
also draws from constants it mines from the code the process has loaded (the TUI's draw
differed from the CLI's). Kept, every command sends the same records until an input
changes: kept in the user's cache (never in the project), under the digest of the schema
as JSON, the count, the seed, the versions of hypothesis and hypothesis-jsonschema and this
module's own source. A kept file that cannot be read is drawn again; only JSON values are
kept (what a JSON schema describes).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.paths import cache_dir

MAX_KEPT = 256  # the least recently drawn go first
_memo: dict[str, list[Any]] = {}


def draw(schema: dict[str, Any], count: int, seed: int) -> list[Any]:
    """Up to `count` distinct records satisfying `schema`, as hypothesis draws them for
    `seed` (kept: see the module's doc)."""
    key = _key(schema, count, seed)
    if key not in _memo:
        kept = _read(key)
        if kept is None:
            kept = _keep(key, _generate(schema, count, seed))
        _memo[key] = kept
    return copy.deepcopy(_memo[key])


def _key(schema: dict[str, Any], count: int, seed: int) -> str:
    digest = hashlib.sha256()
    for part in (
        json.dumps(schema, sort_keys=True, separators=(",", ":"), default=repr),
        str(count),
        str(seed),
        _generator(),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


@functools.cache
def _generator() -> str:
    """What draws, read once a process: the libraries' versions and this module's source."""
    versions = [_version(name) for name in ("hypothesis", "hypothesis-jsonschema")]
    return "\0".join([*versions, Path(__file__).read_text(encoding="utf-8")])


def _version(distribution: str) -> str:
    try:
        return f"{distribution}=={metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return f"{distribution} missing"


def _folder() -> Path:
    return cache_dir() / "drawn"


def _read(key: str) -> list[Any] | None:
    path = _folder() / f"{key}.json"
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("key") != key:
        return None
    drawn = kept.get("drawn")
    if not isinstance(drawn, list):
        return None
    with contextlib.suppress(OSError):
        path.touch()  # recently used: pruned last
    return drawn


def _keep(key: str, drawn: list[Any]) -> list[Any]:
    """Keeps what was drawn; returns it as it will be read back (JSON's values), so the
    first draw and the kept one are the same records."""
    try:
        text = json.dumps({"key": key, "drawn": drawn}, allow_nan=False)
    except (TypeError, ValueError):  # not JSON values: drawn again next time
        return drawn
    folder = _folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / f"{key}.json", text, what="the kept draws")
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[: max(0, len(entries) - MAX_KEPT)]:
            old.unlink(missing_ok=True)
    except OSError:  # a cache that cannot be written only costs the next draw
        pass
    return list(json.loads(text)["drawn"])


def _no_gc_callbacks() -> None:
    """Hypothesis times the garbage collector through a `gc.callbacks` hook; a Ctrl-C that
    lands inside that hook is printed as "Exception ignored" and lost, so the serve test
    went on after the user stopped it. Payload generation needs no such timing."""
    try:
        from hypothesis.internal.conjecture import junkdrawer
    except ImportError:  # a later hypothesis without it: nothing to switch off
        return
    if hasattr(junkdrawer, "_gc_initialized"):
        junkdrawer._gc_initialized = True  # never install the hook


def _generate(schema: dict[str, Any], count: int, seed: int) -> list[Any]:
    from hypothesis.configuration import set_hypothesis_home_dir

    # Hypothesis keeps caches in ./.hypothesis by default (some on import of the schema
    # strategies): never in the user's project.
    set_hypothesis_home_dir(str(cache_dir() / "hypothesis"))
    from hypothesis import HealthCheck, Phase, given, settings

    _no_gc_callbacks()
    from hypothesis import seed as with_seed
    from hypothesis_jsonschema import from_schema

    found: list[Any] = []

    @with_seed(seed)
    @settings(
        max_examples=max(20, count * 4),
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
        derandomize=False,
    )
    @given(from_schema(schema))
    def collect(value: Any) -> None:
        if len(found) < count and value not in found:
            found.append(value)

    collect()
    return found

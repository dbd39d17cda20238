"""The image-size report (issue #28): the largest installed packages, measured by the script
the image's own interpreter runs, and the largest layers of the engine's history; an image
over `serve.budget.image_mb` is failed naming its biggest packages as the fix."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec

from tests.unit.test_manifest import GOOD, project
from workbench.checklist.checks import Status
from workbench.project.manifest import load_manifest
from workbench.steps.serve import image_size, performance
from workbench.steps.serve.report import ImageFacts, LayerSize, PackageSize


def test_the_script_measures_every_distribution_with_its_bytecode() -> None:
    """Run by a real interpreter (this one), as the image's runs it."""
    done = subprocess.run(
        [sys.executable, "-c", image_size.SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    packages = image_size.read_packages(done.stdout)
    sizes = [p.size_bytes for p in packages]
    assert sizes == sorted(sizes, reverse=True)  # largest first
    by_name = {p.name.lower(): p for p in packages}
    files = metadata.distribution("msgspec").files or []
    recorded = sum(Path(str(f.locate())).stat().st_size for f in files if f.locate().exists())
    # msgspec's files, and the bytecode compiled for its .py files, which RECORD omits
    assert by_name["msgspec"].size_bytes >= recorded > 0
    assert by_name["msgspec"].version == msgspec.__version__


def test_the_largest_layers_come_from_the_history_shortened() -> None:
    history: list[dict[str, Any]] = [
        {"CreatedBy": "/bin/sh -c #(nop)  ENV PORT=8080", "Size": 0},
        {"CreatedBy": "COPY /opt/venv /opt/venv # buildkit", "Size": 310_000_000},
        {"CreatedBy": "|1 X=1 /bin/sh -c python3 -m compileall -q /app", "Size": 20_000},
        {"CreatedBy": "", "Size": 176_300_000},  # `docker import`: no command
        {
            "CreatedBy": "/bin/sh -c #(nop) COPY dir:" + "bd873731dbdf91c4" * 4 + " in /opt/venv",
            "Size": 20_000_000,
        },
    ]
    layers = image_size.largest_layers(history)
    assert [layer.describe() for layer in layers] == [
        "310.0 MB COPY /opt/venv /opt/venv # buildkit",
        "176.3 MB (no command recorded: an imported layer)",
        "20.0 MB COPY dir:bd873731dbdf in /opt/venv",
    ]
    assert len(image_size.step_of("RUN " + "x" * 200)) == 90
    assert image_size.step_of("/bin/sh -c python3 -m compileall /app") == (
        "RUN python3 -m compileall /app"
    )


def test_the_line_names_the_largest_and_the_whole() -> None:
    packages = [
        PackageSize(name="scipy", version="1.14.1", size_bytes=95_000_000),
        PackageSize(name="numpy", version="2.1.3", size_bytes=40_000_000),
    ]
    assert image_size.describe(packages, count=1) == (
        "scipy 1.14.1 (95.0 MB) (of 135 MB in 2 Python packages)"
    )


def _probing(tmp_path: Path, budget_mb: float, image: ImageFacts | None) -> Any:
    """A probing whose container answers nothing but its size: enough for the budget."""
    text = GOOD + f"serve:\n  budget:\n    image_mb: {budget_mb}\n"
    manifest = load_manifest(project(tmp_path, text))
    (tmp_path / "schema" / "examples").mkdir(parents=True, exist_ok=True)
    (tmp_path / "schema" / "examples" / "one.json").write_text('{"x": 1}')
    container = SimpleNamespace(image=SimpleNamespace(attrs={"Size": 351_000_000}))
    live = SimpleNamespace(url="http://127.0.0.1:9", container=container, ready_seconds=1.0)
    return SimpleNamespace(manifest=manifest, live=live, log=lambda _: None, image=image)


FACTS = ImageFacts(
    image_id="sha256:abc",
    size_bytes=351_000_000,
    packages=[
        PackageSize(name="scipy", version="1.14.1", size_bytes=95_000_000),
        PackageSize(name="numpy", version="2.1.3", size_bytes=40_000_000),
        PackageSize(name="scikit-learn", version="1.5.2", size_bytes=38_000_000),
        PackageSize(name="joblib", version="1.4.2", size_bytes=1_000_000),
    ],
    layers=[LayerSize(step="COPY /opt/venv /opt/venv # buildkit", size_bytes=180_000_000)],
)


def _quiet(monkeypatch: Any) -> None:
    """Requests answered 200 at once, memory read: only the size is judged."""
    monkeypatch.setattr(
        performance, "_timed_requests", lambda *a, **k: [performance.Timed(1.0, 200)]
    )
    monkeypatch.setattr(performance, "batching_in_force", lambda url: "off")
    monkeypatch.setattr(performance, "peak_memory", lambda live: (50e6, "cgroup v2"))


def test_an_image_over_its_budget_names_its_biggest_packages(
    tmp_path: Path, monkeypatch: Any
) -> None:
    _quiet(monkeypatch)
    result = performance.performance(_probing(tmp_path, 300, FACTS))
    assert result.status is Status.FAIL
    assert (
        "image size 351 MB is over its budget of 300 MB (serve.budget.image_mb)"
        in (result.evidence[0])
    )
    assert result.evidence[-1].startswith(
        "fix the size: the biggest packages are scipy 1.14.1 (95.0 MB), numpy 2.1.3 (40.0 MB), "
        "scikit-learn 1.5.2 (38.0 MB)"
    )


def test_within_budget_the_size_line_still_says_what_weighs(
    tmp_path: Path, monkeypatch: Any
) -> None:
    _quiet(monkeypatch)
    result = performance.performance(_probing(tmp_path, 2000, FACTS))
    assert result.status is Status.PASS
    assert result.evidence[-1] == (
        "image 351 MB; budget 2000 MB; largest packages scipy 1.14.1 (95.0 MB), numpy 2.1.3 "
        "(40.0 MB), scikit-learn 1.5.2 (38.0 MB); largest layer 180.0 MB COPY /opt/venv "
        "/opt/venv # buildkit"
    )
    unread = performance.performance(_probing(tmp_path, 2000, None))
    assert unread.evidence[-1] == "image 351 MB; budget 2000 MB"  # nothing said unread

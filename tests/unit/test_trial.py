"""Try it's logic without an engine: which image is tried, which route a body goes to,
and the note an exchange leaves (bounded)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from workbench.checklist.checks import CheckResult
from workbench.checklist.scoring import ItemView
from workbench.kernel.errors import WorkbenchError
from workbench.steps.serve.report import ImageFacts
from workbench.steps.serve.trial import (
    NOTE_LIMIT,
    SHOWN_LIMIT,
    Exchange,
    image_to_try,
    pretty,
    route_for,
)


def _view(status: str, image_id: str | None) -> ItemView:
    report = ImageFacts(image_id=image_id) if image_id else None
    view = SimpleNamespace(
        status=SimpleNamespace(value=status), result=CheckResult.passed(report=report)
    )
    return cast(ItemView, view)  # only status and result are read


def test_the_image_tried_is_the_one_the_serve_test_built_or_none() -> None:
    image, about = image_to_try(_view("pass", "sha256:abc"))
    assert (image, about) == ("sha256:abc", "the image the serve test built and tested")
    image, about = image_to_try(_view("stale", "sha256:abc"))
    assert image == "sha256:abc" and "before your last change" in about
    for view in (
        None,
        _view("pending", None),
        _view("fail", None),  # the build failed: nothing to try
        _view("fail", "sha256:old"),  # an older image: not this one
    ):
        with pytest.raises(WorkbenchError, match="run the serve test first"):
            image_to_try(view)


def test_an_array_goes_to_the_batch_route_anything_else_to_predict() -> None:
    assert route_for('  [{"a": 1}]') == "/predict/batch"
    assert route_for('{"a": 1}') == "/predict"
    assert route_for("not json") == "/predict"  # sent as typed: the 400 is the answer


def test_the_note_holds_the_exchange_on_one_line_and_is_bounded() -> None:
    exchange = Exchange("/predict", '{\n  "a": 1\n}', 200, 5.66, '{"prediction": "x"}', "id1")
    assert exchange.note() == 'POST /predict { "a": 1 } -> 200 in 5.7 ms: {"prediction": "x"}'
    big = Exchange("/predict/batch", "[" + "1," * 1000 + "1]", 200, 1.0, "[]", None)
    assert len(big.note()) == NOTE_LIMIT and big.note().endswith("…")


def test_answers_are_shown_as_indented_json_or_as_sent() -> None:
    assert pretty('{"a":[1,2]}') == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert pretty("<html>oops</html>") == "<html>oops</html>"
    big = pretty(json.dumps([{"prediction": "setosa"}] * 20_000))
    assert len(big) < SHOWN_LIMIT + 100 and big.endswith("more characters not shown)")


def test_the_built_image_evidence_says_what_the_image_config_holds() -> None:
    from workbench.steps.serve.session import image_facts

    ours = {
        "User": "10001:10001",
        "Healthcheck": {"Test": ["CMD", "python3", "-c", "..."]},
        "Entrypoint": ["python3", "-m", "serving"],
        "Cmd": None,
    }
    assert image_facts(ours) == (
        "user 10001:10001; HEALTHCHECK set; exec-form entrypoint `python3 -m serving`"
    )
    # A base image's defaults would be said as they are, not as we meant them to be.
    assert image_facts({"User": "", "Cmd": ["python3"]}) == (
        "runs as root; no HEALTHCHECK; exec-form entrypoint `python3`"
    )
    assert (
        image_facts(
            {"User": "0", "Healthcheck": {"Test": ["NONE"]}, "Cmd": ["/bin/sh", "-c", "serve"]}
        )
        == "runs as root; no HEALTHCHECK; shell-form entrypoint `/bin/sh -c serve`"
    )


def test_a_missing_system_library_in_the_image_gets_its_own_fix() -> None:
    from workbench.steps.serve.hints import load_hint

    said = (
        "OSError: libgomp.so.1: cannot open shared object file: No such file or directory "
        "(No module named lightgbm.basic would follow)"
    )
    assert "serve.system_packages" in load_hint(said) and "libgomp1" in load_hint(said)
    assert "save the model again" in load_hint("_pickle.UnpicklingError: invalid load key")


def test_debian_release_and_package_versions_are_read_from_their_files(tmp_path: Path) -> None:
    from workbench.steps.serve import debs

    text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
    assert debs.os_release(text)["VERSION_CODENAME"] == "bookworm"
    files = [
        tmp_path / "libgomp1_12.2.0-14+deb12u1_amd64.deb",
        tmp_path / "tzdata_1%3a2024a_all.deb",
    ]
    assert debs.describe(files) == "libgomp1=12.2.0-14+deb12u1 tzdata=1:2024a"


def test_system_packages_are_refused_clearly_for_another_release_or_an_unknown_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from workbench.steps.serve import debs

    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(debs, "host_release", lambda: debs.Release("bookworm", "amd64"))
    monkeypatch.setattr(debs, "image_release", lambda image: debs.Release("trixie", "amd64"))
    with pytest.raises(WorkbenchError) as other:
        debs.fetch(("libgomp1",), "python:3.13-slim")
    assert "Debian trixie amd64" in other.value.paragraph
    assert "Debian bookworm amd64" in other.value.paragraph
    if shutil.which("apt-get") is None:
        return  # the name check below needs a Debian host's apt-get
    monkeypatch.undo()
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(debs, "image_release", lambda image: debs.host_release())
    with pytest.raises(WorkbenchError) as unknown:
        debs.fetch(("no-such-package-xyz",), "python:3.11-slim")
    assert "no-such-package-xyz" in unknown.value.paragraph
    assert "apt-cache policy" in unknown.value.paragraph
    assert not list((tmp_path / "cache").rglob("*.deb"))

"""`schema infer`'s questions to the model share one interpreter (`model_session`): the
same contract as asked of fresh interpreters, one start instead of two, and the same clear
errors when the interpreter or the model fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project import model_env, model_session
from workbench.project.manifest import Manifest, load_manifest
from workbench.project.model_env import predict_in_model_env
from workbench.steps.schema.infer import infer_contract


def fitted(root: Path, python: str = sys.executable) -> Path:
    """A scikit-learn regression on two named columns, saved in the project."""
    import joblib
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    (root / "model").mkdir(parents=True)
    frame = pd.DataFrame({"area": [50.0, 80.0, 120.0, 65.0], "rooms": [2.0, 3.0, 4.0, 2.0]})
    model = LinearRegression().fit(frame, [100.0, 160.0, 240.0, 130.0])
    joblib.dump(model, root / "model" / "price.joblib")
    (root / "workbench.yaml").write_text(
        f"name: price\npython: {python}\nmodel:\n  flavor: sklearn\n"
        "  artifact: model/price.joblib\n"
    )
    return root


SAMPLE = [{"area": 50.0 + i, "rooms": float(i % 4 + 1)} for i in range(20)]


def starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every interpreter started for a question: fresh ones and a session's."""
    started: list[str] = []
    fresh, kept = model_env.run_json_script, model_session.ModelSession._start
    monkeypatch.setattr(
        model_env, "run_json_script", lambda *a, **k: started.append("fresh") or fresh(*a, **k)
    )
    monkeypatch.setattr(
        model_session.ModelSession,
        "_start",
        lambda self: started.append("session") or kept(self),
    )
    return started


def test_infer_asks_one_interpreter_and_infers_what_fresh_ones_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = starts(monkeypatch)
    alone = infer_contract(load_manifest(fitted(tmp_path / "alone")), SAMPLE)
    assert started == ["fresh", "fresh"]  # what it knows of itself, then its answers

    started.clear()
    manifest = load_manifest(fitted(tmp_path / "shared"))
    with model_session.model_session(manifest) as session:
        shared = infer_contract(manifest, SAMPLE)
    assert started == ["session"] and session.started == 1
    assert shared.request["properties"] == alone.request["properties"]
    assert shared.response == alone.response and shared.examples == alone.examples


def test_a_session_is_only_for_its_own_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = starts(monkeypatch)
    one, other = load_manifest(fitted(tmp_path / "one")), load_manifest(fitted(tmp_path / "o"))
    with model_session.model_session(one):
        predict_in_model_env(other, [{"area": 60.0, "rooms": 2.0}])
        predict_in_model_env(one, [{"area": 60.0, "rooms": 2.0}])
    assert started == ["fresh", "session"]


def test_a_failing_model_and_a_missing_interpreter_say_so_in_a_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = fitted(tmp_path / "broken")
    (broken / "model" / "price.joblib").write_bytes(b"not a pickle")
    manifest = load_manifest(broken)
    with model_session.model_session(manifest) as session:
        with pytest.raises(WorkbenchError) as failed:
            predict_in_model_env(manifest, [{"area": 60.0, "rooms": 2.0}])
        with pytest.raises(WorkbenchError):  # asked again: the same interpreter answers
            predict_in_model_env(manifest, [{"area": 61.0, "rooms": 2.0}])
    assert "loading the model failed" in str(failed.value) and session.started == 1

    gone = load_manifest(fitted(tmp_path / "gone", python=str(tmp_path / "no" / "python")))
    with model_session.model_session(gone), pytest.raises(WorkbenchError, match="does not exist"):
        predict_in_model_env(gone, [{"area": 60.0, "rooms": 2.0}])

    not_python = tmp_path / "not-python"
    not_python.write_text("#!/bin/sh\necho hello\n")
    not_python.chmod(0o755)
    odd = load_manifest(fitted(tmp_path / "odd", python=str(not_python)))
    with model_session.model_session(odd), pytest.raises(WorkbenchError, match="not a working"):
        predict_in_model_env(odd, [{"area": 60.0, "rooms": 2.0}])


def predictor_project(root: Path, predictor: str) -> Manifest:
    """A python-flavor project (`predict:Model`, this interpreter) with `predictor` as its
    predict.py; named after its folder."""
    (root / "schema").mkdir(parents=True)
    (root / "predict.py").write_text(predictor)
    (root / "workbench.yaml").write_text(
        f"name: {root.name}\npython: {sys.executable}\nmodel:\n  flavor: python\n"
        "  predictor: predict:Model\n"
    )
    return load_manifest(root)


def test_a_model_that_reads_stdin_cannot_swallow_the_next_question(tmp_path: Path) -> None:
    manifest = predictor_project(
        tmp_path / "reader",
        "import sys\n\n\nclass Model:\n    def load(self, folder):\n        pass\n\n"
        "    def predict(self, record):\n"
        "        return {'y': record['x'] * 2, 'read': sys.stdin.read()}\n",
    )
    with model_session.model_session(manifest) as session:
        first = predict_in_model_env(manifest, [{"x": 1}], timeout=30).answers
        second = predict_in_model_env(manifest, [{"x": 2}], timeout=30).answers
    assert first == [{"y": 2, "read": ""}] and second == [{"y": 4, "read": ""}]
    assert session.started == 1


def test_a_model_that_cannot_load_twice_in_one_process_is_asked_afresh(tmp_path: Path) -> None:
    """A predictor that registers something global at load (a metric, a handler) fails a
    second load in the same process: that question goes to a fresh interpreter."""
    manifest = predictor_project(
        tmp_path / "once",
        "LOADED = []\n\n\nclass Model:\n    def load(self, folder):\n"
        "        if LOADED:\n            raise RuntimeError('Duplicated timeseries: loads_total')\n"
        "        LOADED.append(1)\n\n    def predict(self, record):\n"
        "        return {'y': record['x'] * 2}\n",
    )
    with model_session.model_session(manifest) as session:
        first = predict_in_model_env(manifest, [{"x": 1}], timeout=30).answers
        second = predict_in_model_env(manifest, [{"x": 2}], timeout=30).answers
    assert first == [{"y": 2}] and second == [{"y": 4}] and session.started == 1

"""The functional tests share the model's answers across the run (see `shared_answers`)."""

from __future__ import annotations

import pytest

from tests.helpers import shared_answers


@pytest.fixture(autouse=True)
def _answers_shared_by_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared_answers(monkeypatch, tmp_path_factory)

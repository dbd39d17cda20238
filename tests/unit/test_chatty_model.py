"""A model that writes to stdout while it loads or answers (a `print()` left in a predictor,
a C library's progress line) answers all the same in its own environment.

The trial of a hand-written scorer with `print("scoring", record)` in `predict`: the answers
were read from the script's stdout, the print came first, and every local check
(snapshot, schema.responses-valid, schema.feature-names: gates) failed with
"... is not a working Python 3.8+ interpreter (no output). Fix: point `python:` at your
environment's python", while the image served it (its prints go to the container's log).
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_model_folder import project
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env

CHATTY = """
import os
import sys

print("importing the scorer")


class Model:
    def load(self, folder):
        print("loading from", folder)
        os.write(1, b"[native] a C library writes to fd 1\\n")

    def predict(self, record):
        print("scoring", record)
        sys.stdout.write("{not json\\n")
        return {"known": record["word"] == "spam"}
"""


def test_prints_and_native_writes_to_stdout_do_not_hide_the_answers(tmp_path: Path) -> None:
    root = project(tmp_path / "p", CHATTY)
    answers = predict_in_model_env(load_manifest(root), [{"word": "spam"}, {"word": "ham"}])
    assert answers.answers == [{"known": True}, {"known": False}]

"""schema.feature-names for a predictor class: the fields it read of the examples'
records (by name, or whole), read back in the model's own interpreter; a field of the
contract no code path read is named (a warning, not a pass)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished, ItemView
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env
from workbench.steps import open_checklist

READS_ONE = """
class Model:
    def load(self, folder):
        pass

    def predict(self, record):
        return {"score": len(record["text"]) * 0.1}
"""

READS_BOTH = READS_ONE.replace('len(record["text"])', 'len(record["text"]) + record.get("n", 0)')
COPIES = READS_ONE.replace("def predict(self, record):", "def predict(self, record):\n"
                           "        record = dict(record)")  # fmt: skip
UNPACKS = READS_ONE.replace('len(record["text"])', "len(score(**record))").replace(
    "class Model:", "def score(text, n):\n    return text * n\n\nclass Model:"
)


def project(root: Path, predictor: str) -> Path:
    (root / "schema" / "examples").mkdir(parents=True)
    (root / "predict.py").write_text(textwrap.dedent(predictor))
    (root / "schema" / "request.yaml").write_text(
        "type: object\nrequired: [text, n]\nadditionalProperties: false\nproperties:\n"
        "  text: {type: string, description: the words}\n"
        "  n: {type: integer, description: how many}\n"
    )
    (root / "schema" / "response.yaml").write_text(
        "type: object\nproperties:\n  score: {type: number}\n"
    )
    for number, record in enumerate([{"text": "spam", "n": 2}, {"text": "ham", "n": 1}]):
        (root / "schema" / "examples" / f"e{number}.json").write_text(json.dumps(record))
    (root / "workbench.yaml").write_text(
        f"name: words\npython: {sys.executable}\nmodel:\n  flavor: python\n"
        "  predictor: predict:Model\n"
    )
    return root


def feature_names(root: Path) -> ItemView:
    checklist = open_checklist(load_manifest(root), user="Ana")
    events = list(checklist.run(["schema.feature-names"], CheckContext(checklist.manifest)))
    return next(e.view for e in events if isinstance(e, ItemFinished))


def test_a_field_the_predictor_never_reads_is_named(tmp_path: Path) -> None:
    view = feature_names(project(tmp_path / "p", READS_ONE))
    assert view.status is Status.WARN
    assert view.evidence[0].startswith(
        "the predictor never read n while answering the 2 examples (it read text)"
    )


def test_every_field_read_by_name_passes(tmp_path: Path) -> None:
    view = feature_names(project(tmp_path / "p", READS_BOTH))
    assert view.status is Status.PASS
    assert "read each of the schema's 2 fields by name" in view.evidence[0]


def test_a_record_copied_or_unpacked_counts_as_read_whole_and_says_nothing(
    tmp_path: Path,
) -> None:
    """Read whole (a copy, `**record`, a DataFrame of it), the fields it uses cannot be told:
    skipped, said so, never a pass claiming every field reaches the model."""
    for name, predictor in (("copies", COPIES), ("unpacks", UNPACKS)):
        root = project(tmp_path / name, predictor)
        answers = predict_in_model_env(
            load_manifest(root), [{"text": "spam", "n": 2}], track_reads=True
        )
        assert answers.facts["fields_read"] is None, name
        view = feature_names(root)
        assert view.status is Status.SKIPPED, name
        assert "which fields it uses cannot be told" in view.remark + " ".join(view.evidence)


def test_reads_are_noted_only_where_asked(tmp_path: Path) -> None:
    root = project(tmp_path / "p", READS_ONE)
    plain = predict_in_model_env(load_manifest(root), [{"text": "spam", "n": 2}])
    assert "fields_read" not in plain.facts  # the golden answers, quality: plain dicts
    noted = predict_in_model_env(load_manifest(root), [{"text": "spam", "n": 2}], track_reads=True)
    assert noted.facts["fields_read"] == {"read": ["text"], "asked": ["text"]}


def test_the_read_record_answers_as_a_plain_one_would(tmp_path: Path) -> None:
    # The notes taken must not change an answer: json, pickle and copies see a plain dict.
    predictor = """
    import copy, json, pickle

    class Model:
        def load(self, folder):
            pass

        def predict(self, record):
            again = pickle.loads(pickle.dumps(record))
            return {"text": json.dumps(record, sort_keys=True), "same": again == record,
                    "plain": type(copy.deepcopy(record)).__name__}
    """
    root = project(tmp_path / "p", predictor)
    answers = predict_in_model_env(
        load_manifest(root), [{"text": "spam", "n": 2}], track_reads=True
    )
    assert answers.answers == [{"text": '{"n": 2, "text": "spam"}', "same": True, "plain": "dict"}]
    assert answers.facts["fields_read"] is None  # json read it whole


def test_a_field_read_by_a_name_the_contract_lacks_fails_naming_both(tmp_path: Path) -> None:
    """`record.get("product_category")` while the schema says `category`: the model got
    None on every request, and the check only warned that `category` was unread (a new
    user's trial). A name the contract does not have is a failure, naming both."""
    predictor = READS_BOTH.replace('record.get("n", 0)', 'record.get("count", 0)')
    view = feature_names(project(tmp_path / "p", predictor))
    assert view.status is Status.FAIL, view.evidence
    assert view.evidence[0].startswith(
        "the predictor asks for count, which the request schema does not have"
    ), view.evidence
    assert "(it never read n: renamed?)" in view.evidence[0]


DERIVES = """
class Model:
    def load(self, folder):
        pass

    def predict(self, record):
        record["total"] = len(record["text"]) + record["n"]  # a feature it derives
        legacy = "old_text" in record  # a probe kept for callers of an older contract
        debug = record.get("debug", False)  # an optional switch beside every field
        return {"score": record["total"] * 0.1 + legacy + debug}
"""


def test_derived_keys_probes_and_optional_switches_are_not_a_rename(tmp_path: Path) -> None:
    """A reviewer's read: a key the predictor wrote itself, a test with `in`, and `.get` of an
    optional switch all failed the gate of a correct predictor. Derived keys and probes are
    not asked of callers; an unknown switch while every declared field is read warns."""
    view = feature_names(project(tmp_path / "p", DERIVES))
    assert view.status is Status.WARN, view.evidence
    assert view.evidence[0].startswith("the predictor asks for debug,"), view.evidence
    assert "total" not in view.evidence[0] and "old_text" not in view.evidence[0]

"""`schema describe` takes the names `schema.described` gives, nested ones too: it named
`probabilities.0` as undescribed and `describe probabilities.0` answered "there is no
field" (a new user's trial); the file was edited by hand."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from workbench.checklist.checks import CheckContext, Status
from workbench.kernel.yamlio import load_yaml
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.schema.checks import described

RESPONSE = """\
type: object
properties:
  prediction: {type: integer, description: the class}
  probabilities:
    type: object
    description: each class's probability
    properties:
      '0': {type: number}   # kept: comments stay
      '1': {type: number, description: of a purchase}
  scores:
    type: array
    description: per item
    items:
      type: object
      properties:
        value: {type: number}
"""


def test_a_nested_field_named_by_the_check_is_described_in_place(tmp_path: Path) -> None:
    from commands.main import app

    project = copy_example("iris", tmp_path / "iris")
    manifest = load_manifest(project)
    response = manifest.resolve(manifest.schema.response)
    response.write_text(RESPONSE)

    def undescribed() -> list[str]:
        result = described(CheckContext(load_manifest(project)))
        return (
            [e for e in result.evidence if "response" in e] if result.status is Status.WARN else []
        )

    assert undescribed() == [
        f"no description: {manifest.schema.response}: probabilities.0",
        f"no description: {manifest.schema.response}: scores[].value",
    ]
    for name in ("probabilities.0", "scores[].value"):
        done = CliRunner().invoke(
            app, ["schema", "describe", name, "a probability", "--response", "-p", str(project)]
        )
        assert done.exit_code == 0, done.output
    assert undescribed() == []
    saved = load_yaml(response)
    assert saved["properties"]["probabilities"]["properties"]["0"]["description"] == "a probability"
    assert "# kept: comments stay" in response.read_text()

    wrong = CliRunner().invoke(
        app, ["schema", "describe", "probabilities.2", "x", "--response", "-p", str(project)]
    )
    assert wrong.exit_code != 0
    assert "no field `probabilities.2`" in wrong.output and "probabilities.1" in wrong.output
    forgot = CliRunner().invoke(
        app, ["schema", "describe", "probabilities.1", "x", "-p", str(project)]
    )
    assert forgot.exit_code != 0 and "It is a response field: add `--response`" in forgot.output


def test_a_field_behind_a_reference_or_in_a_branch_is_found() -> None:
    """`walk_fields` names `addr.city` through `$ref` and `pay.iban` in an `anyOf`; describe
    answered "there is no field addr.city ... use one of addr, addr.city" (a reviewer's
    read). The description lands where the field is defined."""
    from workbench.steps.schema.contract import walk_fields
    from workbench.steps.schema.edit import find_field

    city = {"type": "string"}
    iban = {"type": "string"}
    document = {
        "type": "object",
        "$defs": {"Addr": {"type": "object", "properties": {"city": city}}},
        "properties": {
            "addr": {"$ref": "#/$defs/Addr"},
            "pay": {"anyOf": [{"type": "object", "properties": {"iban": iban}}, {"type": "null"}]},
        },
    }
    named = [name for name, _ in walk_fields(document)]
    assert "addr.city" in named and "pay.iban" in named
    assert find_field(document, "addr.city") is city
    assert find_field(document, "pay.iban") is iban
    assert find_field(document, "addr.street") is None

"""The built-in checklist definitions are read with PyYAML's C loader (fast), a person's
team file with the round-trip loader (line numbers in errors). The built-in files must read
the same both ways: a YAML 1.1 reader takes `no`, `on` or `yes` for booleans, so an item
whose text were such a word would change meaning without this test. The careful read also
validates each file against the definition schema: the built-in read, at every command's
start, does not."""

from __future__ import annotations

from workbench.checklist import definitions


def test_every_builtin_definition_reads_the_same_with_both_loaders() -> None:
    for path in definitions.builtin_files():
        fast = definitions.load_definition_file(path, source="built-in")
        careful = definitions.load_definition_file(path, source="careful")
        assert [(i.id, i.summary, i.question, i.why, i.fix, i.kind, i.gate) for i in fast] == [
            (i.id, i.summary, i.question, i.why, i.fix, i.kind, i.gate) for i in careful
        ], path
        assert fast, path

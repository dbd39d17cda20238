"""Push in the TUI when WORKBENCH_SIGNING_PASSPHRASE is not set and this user will sign: the
passphrase is asked in a masked field, handed to the push as typed, and shown nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from screens.app import WorkbenchApp
from screens.dialogs import TextPrompt
from tests.tui.test_snapshots import RELEASES, settled
from workbench.project.manifest import load_manifest
from workbench.steps.push import publish
from workbench.steps.push.keys import PASSPHRASE_VARIABLE, private_key_path

pytestmark = pytest.mark.tui
TYPED = "tui Passphrase 42 "  # the trailing space is part of it


@pytest.fixture
def signing_project(example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example with a public key named and a private key of this user's (its bytes do
    not matter: the push is replaced), the passphrase not in the environment."""
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv(PASSPHRASE_VARIABLE, raising=False)
    (example_project / "signing").mkdir()
    (example_project / "signing" / "iris.pub").write_text("-----BEGIN PUBLIC KEY-----\n")
    with (example_project / "workbench.yaml").open("a") as manifest:
        manifest.write("signing:\n  public_key: signing/iris.pub\n")
    key = private_key_path(load_manifest(example_project))
    key.parent.mkdir(parents=True)
    key.write_text("encrypted")
    return example_project


async def test_the_passphrase_is_asked_masked_and_handed_to_the_push_as_typed(
    signing_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[str | None] = []

    def push_release(manifest: Any, **kwargs: Any) -> Iterator[Any]:
        given.append(kwargs.get("passphrase"))
        digest, signature, attestations = ("sha256:" + c * 64 for c in "bcd")
        yield publish.Pushed("1.1.0", digest, False, signature, attestations, "tags", "why")

    monkeypatch.setattr(publish, "push_release", push_release)
    app = WorkbenchApp(load_manifest(signing_project))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settled(pilot)
        await pilot.press("5")
        await settled(pilot)
        app.release_rows = RELEASES
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("y")  # push: yes
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, TextPrompt), prompt
        field = prompt.query_one(Input)
        assert field.password  # masked: never echoed
        await pilot.press(*[{" ": "space"}.get(c, c) for c in TYPED])
        shown = "".join(s.text for s in app.console.render(field.render()))  # type: ignore[arg-type]
        assert "Passphrase" not in shown
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert given == [TYPED]
        said = " ".join(n.message for n in app._notifications)
        assert TYPED.strip() not in said
        # where the push put the attachments, as it recorded: the fallback tags here
        assert f"attested (sha256:{'d' * 64}, under cosign's fallback tags: the registry has " in (
            " ".join(said.split())
        )


async def test_escape_at_the_passphrase_pushes_nothing(
    signing_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[str | None] = []

    def push_release(manifest: Any, **kwargs: Any) -> Iterator[Any]:
        given.append(kwargs.get("passphrase"))
        yield from ()

    monkeypatch.setattr(publish, "push_release", push_release)
    app = WorkbenchApp(load_manifest(signing_project))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settled(pilot)
        await pilot.press("5")
        await settled(pilot)
        app.release_rows = RELEASES
        await pilot.press("p", "y")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert given == []
        assert "Push cancelled: no passphrase" in " ".join(n.message for n in app._notifications)

"""The dependency image's tag is the digest of everything that goes into it: an image built
for another lock, wheel, base image or install commands is never taken for this one."""

from __future__ import annotations

from pathlib import Path

from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.serve.dependencies import plan


def test_the_dependency_image_is_named_by_everything_that_goes_into_it(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    lock = project / "environment.lock"
    lock.write_text("numpy==2.0 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    wheel = tmp_path / "numpy-2.0-py3-none-any.whl"
    wheel.write_bytes(b"one wheel")
    manifest = load_manifest(project)

    def tag(base_id: str = "sha256:base", tools: str = "true") -> str:
        return plan(manifest, "python:3.11-slim", base_id, [wheel], tools).image

    first = tag()
    assert first == tag()  # the same inputs: the same image, reused
    assert first.startswith("workbench/iris-classifier/dependencies:")
    seen = {first, tag(base_id="sha256:another-base"), tag(tools="pip uninstall pip")}
    wheel.write_bytes(b"another build of the same wheel")
    seen.add(tag())
    lock.write_text(lock.read_text().replace("2.0", "2.1", 1))
    seen.add(tag())
    assert len(seen) == 5, seen  # each input changed gives another image
    written = project / ".workbench" / "dependencies"
    script = (written / "install.sh").read_text()
    assert "--require-hashes --no-index --find-links /build/wheels" in script
    commands = plan(manifest, "python:3.11-slim", "sha256:base", [wheel], "true").commands()
    assert commands.startswith("python3 -m venv /opt/venv && ") and "#" not in commands
    assert commands.endswith(" && rm -rf /build")  # the wheels never in the committed layer
    built_from = (written / "environment.lock").read_text()
    assert built_from.endswith(lock.read_text()) and built_from.startswith("# The pins")
    assert not (written / "wheels").exists()  # only while the image is built


def test_locks_with_the_same_pins_build_the_same_layers_whatever_their_comments(
    tmp_path: Path,
) -> None:
    """The lock's `# why` comments differ between projects with the same pins (a TorchScript
    and a torch.export model): the dependency image is built from the pins alone, so the
    venv image is shared instead of installing the same wheels again."""
    pins = "numpy==2.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    pin_b = "scipy==1.0 \\\n    --hash=sha256:" + "b" * 64 + "\n"
    wheel = tmp_path / "numpy-2.0-py3-none-any.whl"
    wheel.write_bytes(b"one wheel")
    built, venvs = [], []
    for name, lock in (
        ("one", "# header of one\n" + pins + "    # imported by the model (numpy)\n" + pin_b),
        ("two", "# another header\n\n" + pins + "    # required by sklearn\n" + pin_b),
        ("three", pins.replace("2.0", "2.1") + pin_b),
    ):
        project = copy_example("iris", tmp_path / name)
        (project / "environment.lock").write_text(lock)
        made = plan(load_manifest(project), "python:3.11-slim", "sha256:base", [wheel], "true")
        venvs.append(made.venv)
        built.append((project / ".workbench/dependencies/environment.lock").read_text())
    assert built[0] == built[1], built  # the same pins: the same bytes, the same layers
    assert venvs[0] == venvs[1] != venvs[2]  # one venv image for the first two projects
    assert built[2] != built[0]  # another pin: another lock to install
    assert "#" not in built[0].split("\n", 3)[3]  # no why-comment is left
    assert built[0].count("--hash=sha256:") == 2

"""The demo: the iris example through the workbench, on real parts.

`prepare` makes the real parts available (engine, base image), copies the
example and creates its own environment; `run_headless` runs what the steps
can do without a person and yields one line per result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from workbench import harness, project_init
from workbench.manifest import MANIFEST_NAME, Manifest, load_manifest
from workbench.model_env import load_examples, predict_in_model_env

Progress = Callable[[str], None]


def prepare(dest: Path, progress: Progress) -> Manifest:
    progress("checking the Docker engine")
    harness.ensure_engine(progress)
    progress(f"checking the base image {harness.DEFAULT_BASE_IMAGE}")
    harness.ensure_base_image(harness.DEFAULT_BASE_IMAGE, progress)
    if not (dest / MANIFEST_NAME).exists():
        progress(f"copying the iris example to {dest}")
        project_init.copy_example("iris", dest)
    progress("creating the example's own environment (.venv)")
    project_init.make_example_env(dest)
    return load_manifest(dest)


def run_headless(manifest: Manifest) -> Iterator[str]:
    yield f"project {manifest.name} at {manifest.root}"
    yield f"model   {manifest.model.flavor} {manifest.model.artifact}"
    yield f"python  {manifest.interpreter()}"
    examples = load_examples(manifest)
    answers = predict_in_model_env(manifest, [record for _, record in examples])
    for (name, _), answer in zip(examples, answers.answers, strict=True):
        yield f"example {name}: {answer['prediction']}"

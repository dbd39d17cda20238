"""A release that a killed command left half made, finished or undone by the next command.

Kept apart from `release` (which imports the serve session, the build and the contract's
validators): every `check` and `push` asks this first, and in the common case it is one
stat of the journal.
"""

from __future__ import annotations

from workbench.kernel import commands
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.project import transaction
from workbench.project.manifest import Manifest


def tag_image(image_id: str, image_ref: str) -> None:
    """Give the tested image its release tag."""
    from docker.errors import DockerException

    repository, _, tag = image_ref.rpartition(":")
    try:
        with commands.running(f"docker tag {image_id[:19]} {image_ref}"):
            docker_client().images.get(image_id).tag(repository, tag=tag)
    except DockerException as exc:
        raise WorkbenchError(f"tagging the image {image_ref} failed ({exc})") from None


def recover_release(manifest: Manifest) -> str | None:
    """Finish or undo a release that a killed command left half made; what was done."""
    if transaction.pending(manifest.root) is None:
        return None  # the common case: one stat, no engine asked
    return transaction.recover(manifest, tag_image)

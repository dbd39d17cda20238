"""`python -m tests.release_driver PROJECT VERSION SESSION` tags a release as `workbench tag`
does, but answers the serve test of the release candidate with a session recorded earlier
(pickled in SESSION) instead of building and testing the image again: the kill -9 tests
need hundreds of milliseconds per attempt, not a serve test's ten seconds. Everything after
the serve test (the freeze, the files, the commit, the tag, the image tag) is the real code
on the real git repository and engine."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.tag import release


def main() -> None:
    project, version, recorded = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    session = pickle.loads(recorded.read_bytes())

    touch = os.environ.get("RELEASE_DRIVER_TOUCH")  # a file someone saves mid-test

    def recorded_session(*_args: Any, **_kwargs: Any) -> Any:
        if touch:
            with open(touch, "a", encoding="utf-8") as edited:
                edited.write("# saved while the candidate was tested\n")
        return session

    release.serve_session = recorded_session  # type: ignore[assignment]
    checklist = open_checklist(load_manifest(project), user="Ana")
    made = release.create_release(checklist, version)
    print(f"released {made.version}", flush=True)


if __name__ == "__main__":
    main()

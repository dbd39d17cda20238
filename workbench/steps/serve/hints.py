"""What a model's failure to load in the image usually means, and what to do about it: the
fix the serve test gives beside the container's own words."""

from __future__ import annotations

import re

from workbench.project.model_failures import STALE_FIX, stale_pickle

# What a load error usually means, and what to do about it.
LOAD_HINTS = (
    (
        ("cannot open shared object file",),
        "a package needs a system library the base image lacks (LightGBM's wheel, for one, "
        "needs libgomp.so.1 from Debian's libgomp1): list its Debian package in "
        "serve.system_packages in workbench.yaml (e.g. [libgomp1]), or set serve.base_image "
        "to an image that has it",
    ),
    (
        ("UnpicklingError", "invalid load key", "EOFError", "not a zip file", "truncated"),
        "the model file is not a loadable pickle/joblib file (corrupt, truncated, or saved by "
        "another library): save the model again, or correct model.artifact",
    ),
    (
        ("FileNotFoundError", "No such file or directory"),
        "the model reads a file the image does not hold: the image has only model.artifact, "
        "the predictor module and model.code, under /app/model (the folder load() receives; "
        "the working folder is /app): list the file in model.code in workbench.yaml and open "
        "it relative to the folder load() receives",
    ),
    (
        ("No module named",),
        "the model needs a module the image lacks: take the snapshot again (an import added "
        "since the last one is not in the lock); if the module is imported only at run time "
        "in a way the snapshot cannot see, import it in your predictor (and install its "
        "package in the model's environment) first",
    ),
    (
        ("Can't get attribute", "has no attribute"),
        "the pickle refers to code the image lacks or that changed: add that module to "
        "model.code, or save the model again with the installed versions",
    ),
    (
        ("InconsistentVersion", "incompatible", "dtype", "node array from the pickle"),
        "the model was saved with other library versions than the snapshot's: retrain and "
        "save it with the installed versions, or pin the versions it was saved with",
    ),
)


def excluded_hint(error: str, excluded: dict[str, list[str]]) -> str | None:
    """The fix when the image lacks a module because snapshot.exclude left its package out."""
    found = re.search(r"No module named '([\w.]+)'", error)
    if not found:
        return None
    module = found.group(1).split(".")[0]
    for name, why in excluded.items():
        if name == module.lower().replace("_", "-") or f"({module})" in " ".join(why):
            return (
                f"`{name}` is left out of the image by snapshot.exclude in workbench.yaml, but "
                f"the model imports `{module}` in the image: remove `{name}` from "
                "snapshot.exclude and take the snapshot again"
            )
    return None


def load_hint(error: str, excluded: dict[str, list[str]] | None = None) -> str:
    said = excluded_hint(error, excluded or {}) or stale_pickle([error])
    if said:
        return said if "snapshot.exclude" in said else f"{said}: {STALE_FIX}"
    for needles, hint in LOAD_HINTS:
        if any(needle in error for needle in needles):
            return hint
    return "make the model load in its own environment first (`workbench check -s snapshot`)"

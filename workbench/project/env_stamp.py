"""A cheap fingerprint of what a model environment has installed, read without starting its
interpreter: what makes the environment's checks stale."""

from __future__ import annotations

import hashlib
from pathlib import Path

SITE_FOLDERS = ("lib/python*/site-packages", "lib/python3*/dist-packages", "local/lib/python3*/*")
METADATA = ("*.dist-info", "*.egg-info", "*.pth", "*.egg-link")


def env_stamp(interpreter: Path) -> str:
    """Cheap fingerprint of what is installed, read without starting the interpreter: the
    interpreter itself (where its link resolves, its size and time: a venv made again on
    another Python), its pyvenv.cfg, and the distributions' metadata names in every site
    folder of its prefix and, for a venv that sees them, its base's (Debian's dist-packages,
    egg-info installs and .pth files included)."""
    prefix = interpreter.parent.parent
    lines = []
    try:
        real = interpreter.resolve()
        lines.append(f"{real} {real.stat().st_size} {real.stat().st_mtime_ns}")
    except OSError:
        lines.append(f"{interpreter} unreadable")
    prefixes = [prefix]
    config = prefix / "pyvenv.cfg"
    if config.is_file():
        text = config.read_text(errors="replace")
        lines.append(text)
        home = next((ln.split("=", 1)[1].strip() for ln in text.splitlines()
                     if ln.split("=", 1)[0].strip() == "home" and "=" in ln), None)  # fmt: skip
        if home and "include-system-site-packages = true" in text.replace("  ", " "):
            prefixes.append(Path(home).parent)
    for base in prefixes:
        for folder in SITE_FOLDERS:
            for pattern in METADATA:
                lines += [_said(p) for p in sorted(base.glob(f"{folder}/{pattern}"))]
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def _said(path: Path) -> str:
    """A metadata entry's name, and where it says its code is: a `.pth` file's lines and a
    distribution's `direct_url.json` (an editable install pointed at another clone of the
    same name and version changes nothing else)."""
    where = path / "direct_url.json" if path.suffix == ".dist-info" else path
    if where.suffix not in (".json", ".pth", ".egg-link"):
        return str(path)
    try:
        return (
            f"{path} {where.read_text(errors='replace')[:4096]}" if where.is_file() else str(path)
        )
    except OSError:
        return f"{path} unreadable"

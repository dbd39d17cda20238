"""Screenshots (the palette's "Save screenshot") land where a person finds them: the
user's Downloads folder, made when it does not exist (a fresh machine, a server), else the
project's `.workbench/screenshots/`; the notice says the whole path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workbench.project.manifest import Manifest

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object


def screenshot_folder(manifest: Manifest, downloads: Path | None = None) -> Path:
    """The folder a screenshot goes to, made if missing."""
    if downloads is None:
        from platformdirs import user_downloads_path

        downloads = user_downloads_path()
    for folder in (downloads, manifest.root / ".workbench" / "screenshots"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        return folder
    return Path.cwd()


class FoundScreenshots(_Base):
    """Mixed into the app: every screenshot goes to `screenshot_folder`."""

    manifest: Manifest

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        folder = path or str(screenshot_folder(self.manifest))
        return super().deliver_screenshot(filename, folder, time_format)

"""The release panel, on home and in the Push step: every release with its quality, when
and by whom, tagged, pushed, signed and attested (as the push read them back), the advisory
verdict it was tagged under (`tag.vulnerabilities`), digest and channels (rows from
`release_table`, read in the app's load worker)."""

from __future__ import annotations

import contextlib
from typing import Any

from textual.widgets.data_table import RowDoesNotExist

from screens.tables import ListTable
from workbench.project.manifest import Manifest

# Channels right after the version: visible at every width (80 columns included).
COLUMNS = (
    "version", "channels", "pushed", "signed", "attested", "advisories", "digest", "quality",
    "released", "by", "tagged",
)  # fmt: skip


class ReleaseTable(ListTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.border_title = "Releases"
        self._rows_shown: list[dict[str, Any]] | None = None

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: list[dict[str, Any]]) -> None:
        """Fill the table again; a release a person moved to stays selected (on the newest,
        the selection follows the newest: a new release is selected when it comes)."""
        if rows == self._rows_shown and self.row_count == len(rows):
            return  # the app redraws at every change of the checklist: the same rows
        self._rows_shown = [dict(row) for row in rows]
        kept = self.selected_version() if self.cursor_row > 0 else None
        self.clear()
        self.display = bool(rows)
        for row in rows:
            digest = str(row.get("digest") or "")
            self.add_row(
                row["version"],
                ", ".join(row.get("channels") or []) or "-",
                "yes" if row.get("pushed") else "no",
                _read_back(row, "signed"),
                _read_back(row, "attested"),
                row.get("advisories") or "-",
                digest.removeprefix("sha256:")[:12] if digest else "-",
                row.get("quality") or "-",
                (row.get("created") or "")[:16].replace("T", " "),
                row.get("by") or "",
                "yes" if row.get("tagged") else "no",
                key=row["version"],
            )
        if kept is not None:
            with contextlib.suppress(RowDoesNotExist):  # that release is gone: the newest
                self.move_cursor(row=self.get_row_index(kept), animate=False)

    def selected_version(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return str(row_key.value)


def _read_back(row: dict[str, Any], what: str) -> str:
    """What the push read back from the registry: "-" for a release not pushed."""
    if not row.get("pushed"):
        return "-"
    return "yes" if row.get(what) else "no"


def release_state(manifest: Manifest) -> str:
    """One line on home: the latest release, its digest, channels, when and by whom."""
    # Called in the load worker; imported there so the first paint does not wait for it.
    from workbench.project.releases import latest_release, load_channels

    latest = latest_release(manifest)
    if latest is None:
        return "No release yet."
    version, record = latest
    channels = sorted(c for c, e in load_channels(manifest).items() if e.current == str(version))
    # Textual's markup (a Static): the theme's warning colour, readable on light themes too
    unpushed = "[$text-warning]not pushed yet[/]"
    digest = str(record.push.digest or "")[:19]  # sha256: and 12 hex digits, as in the table
    pushed = f"pushed {digest}" if record.push.pushed else unpushed
    people = record.released_by.driver + (
        f" with {record.released_by.navigator}" if record.released_by.navigator else ""
    )
    on = f" · channels: {', '.join(channels)}" if channels else " · on no channel"
    elsewhere = sorted(
        f"{name} on {entry.current}"
        for name, entry in load_channels(manifest).items()
        if entry.current and entry.current != str(version)
    )
    if elsewhere:  # after a rollback: where the channels are now
        on += f" ({', '.join(elsewhere)})" if not channels else f"; {', '.join(elsewhere)}"
    return f"Released [b]{version}[/b] on {record.created} by {people} · {pushed}{on}"

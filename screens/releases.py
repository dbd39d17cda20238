"""The release panel, on home and in the Push step: every release with its quality, when
and by whom, tagged, pushed, digest and channels (rows from `release_table`, read in the
app's load worker)."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

COLUMNS = ("version", "released", "by", "quality", "tagged", "pushed", "digest", "channels")


class ReleaseTable(DataTable[str]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.border_title = "Releases"

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: list[dict[str, Any]]) -> None:
        self.clear()
        self.display = bool(rows)
        for row in rows:
            digest = str(row.get("digest") or "")
            self.add_row(
                row["version"],
                (row.get("created") or "")[:16].replace("T", " "),
                row.get("by") or "",
                row.get("quality") or "-",
                "yes" if row.get("tagged") else "no",
                "yes" if row.get("pushed") else "no",
                digest.removeprefix("sha256:")[:12] if digest else "-",
                ", ".join(row.get("channels") or []) or "-",
                key=row["version"],
            )

"""How statuses look in a terminal: one icon and one colour name each.

Plain data shared by the CLI and the TUI (both render Rich markup), so the two
faces show a status the same way.
"""

ICON = {
    "pass": "✔",
    "fail": "✘",
    "warn": "!",
    "skipped": "-",
    "pending": "…",
    "stale": "↻",
    "waived": "~",
}
COLOUR = {
    "pass": "green",
    "fail": "bold red",
    "warn": "yellow",
    "skipped": "dim",
    "pending": "cyan",
    "stale": "magenta",
    "waived": "yellow",
}

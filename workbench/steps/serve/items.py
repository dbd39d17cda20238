"""The serve test's items, in the order its session answers them.

A module of names only: the check registry (built at every command's start) and the tag
preview name the items without importing the session, its build and its probes. The
probes' own list (`probes.PROBES`) must name the same items in the same order
(tests/unit/test_serve_items.py).
"""

from __future__ import annotations

BUILD_ITEMS = ("serve.secrets-free", "serve.image-built")
PROBE_ITEMS = (
    "serve.examples-parity",
    "serve.invalid-rejected",
    "serve.valid-accepted",
    "serve.malformed-rejected",
    "serve.metadata",
    "serve.non-root",
    "serve.hardened",
    "serve.packages-match-lock",
    "serve.quality",
    "serve.expectations",
    "serve.performance",
    "serve.sigterm",
)
# Every item the session answers, in the order it answers them.
SESSION_ITEMS = (*BUILD_ITEMS, *PROBE_ITEMS)

"""`python -m serving`: start the HTTP server (the image's entrypoint).

Uvicorn stops gracefully on SIGTERM: it stops accepting, finishes the requests
in flight, then exits 0.
"""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from .app import APP_DIR, create_app


def main() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    app = create_app(APP_DIR)
    port = int(os.environ.get("PORT", "8080"))
    uvicorn.run(
        app,
        host="0.0.0.0",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )


if __name__ == "__main__":
    main()

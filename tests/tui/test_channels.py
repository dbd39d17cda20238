"""The deployed channels panel (`o`): every replica read and drawn, live; a replica that
does not answer is shown as such and counted out of the healthy ones. The replicas are
the runtime served by uvicorn on loopback, and a port where nothing listens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from textual.widgets import DataTable

from screens.channels import ChannelsScreen
from tests.tui.test_app import make_app, settle
from tests.unit.test_monitoring import PREDICTOR
from workbench.kernel.http import free_port
from workbench.runtime import app as runtime
from workbench.steps.push import status
from workbench.steps.serve import drift


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "sizes.py").write_text(PREDICTOR)
    (tmp_path / "schema").mkdir()
    request = {"type": "object", "properties": {"size": {"type": "number"}}}
    (tmp_path / "schema" / "request.json").write_text(json.dumps(request))
    (tmp_path / "schema" / "response.json").write_text(json.dumps({"type": "object"}))
    reference = {
        "source": "held-out",
        "n": 10,
        "features": {"size": drift.bins_for(list(range(10)))},
    }
    config = {"name": "sizes", "version": "3.1.4", "flavor": "python", "predictor": "sizes:Model"}
    config["monitoring"] = {"reference": reference}
    (tmp_path / "serving.json").write_text(json.dumps(config))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(runtime.create_app(tmp_path), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_the_channels_panel_reads_every_replica_and_says_which_is_down(
    replica: str, example_project: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    app = make_app(example_project)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        assert isinstance(app.screen, ChannelsScreen)  # the key opens it (swarm channels)
        await pilot.press("escape")
        screen = ChannelsScreen(app.manifest, [status.url_channel([replica, down])])
        app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one(DataTable)
        for _ in range(200):
            await pilot.pause(0.05)
            if table.row_count == 3:
                break
        channel, up, gone = (table.get_row_at(n) for n in range(3))
        assert "1/2 healthy" in str(channel[1])
        assert (up[1], up[2], up[3]) == (replica, "3.1.4", "listed")
        assert gone[1] == down and "ConnectionError" in str(gone[3])
        # a second reading: rates between the two, and the history drawn
        for _ in range(20):
            assert httpx.post(f"{replica}/predict", json={"size": 3}).status_code == 200
        await pilot.press("f5")
        for _ in range(200):
            await pilot.pause(0.05)
            if table.row_count == 3 and table.get_row_at(1)[4] != "-":
                break
        assert float(table.get_row_at(1)[4]) > 0  # requests per second of the replica
        assert str(table.get_row_at(0)[4]).split()[1]  # a sparkline of two readings

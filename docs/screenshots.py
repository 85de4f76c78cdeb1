"""Screenshots of the Dagster UI for the README, taken by a real browser: ``uv run python docs/screenshots.py``.

Runs the offline quick start on a throwaway instance configured like the repository's ``dagster.yaml``, starts
``dg dev`` on it, and has headless Chromium capture the asset graph, the ``items`` asset's columns and its latest
materialization's metadata into ``docs/images/``. Needs Chromium on PATH (Debian/Ubuntu:
``apt-get install chromium``); takes about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
BIN = Path(sys.executable).parent
#: Page (path under the UI) and image file of each screenshot.
SHOTS = {
    "locations/hn_assets/asset-groups/hacker_news": "asset-graph.png",
    "assets/items": "items-columns.png",
    "assets/items?view=events": "items-materialization.png",
}
WINDOW = "1600,1100"
#: Virtual time Chromium gives a page to render before the capture; the UI fetches its data over GraphQL first.
RENDER_MILLISECONDS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def locations_loaded(port: int) -> bool:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)


def capture(chromium: str, url: str, image: Path, scratch: Path) -> None:
    """One screenshot by headless Chromium, with the flags that keep it off the network and out of first-run UI."""
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={scratch / 'chromium'}",
            f"--window-size={WINDOW}",
            f"--virtual-time-budget={RENDER_MILLISECONDS}",
            f"--screenshot={image}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("screenshots.py needs Chromium on PATH (Debian/Ubuntu: apt-get install chromium).")
    scratch = Path(tempfile.mkdtemp(prefix="screenshots_"))
    config = (ROOT / "dagster.yaml").read_text().replace(".dagster_home", str(scratch))
    (scratch / "dagster.yaml").write_text(config + "nux:\n  enabled: false\n")  # no welcome dialog over the shots
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_CLOUD", "SNOWFLAKE", "HN_"))}
    env.update(DAGSTER_HOME=str(scratch), DAGSTER_DEPLOYMENT="local", HN_DUCKDB_PATH=str(scratch / "hn.duckdb"))
    subprocess.run([str(BIN / "hn-quickstart"), "--items", "1000"], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "dg"), "dev", "--use-active-venv", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not locations_loaded(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("dg dev did not load both code locations")
            time.sleep(0.5)
        IMAGES.mkdir(parents=True, exist_ok=True)
        for page, name in SHOTS.items():
            capture(chromium, f"http://127.0.0.1:{port}/{page}", IMAGES / name, scratch)
            print(f"wrote {(IMAGES / name).relative_to(ROOT)}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

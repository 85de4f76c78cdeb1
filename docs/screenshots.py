"""Screenshots of the Dagster UI for the README, taken by a real browser: ``uv run python docs/screenshots.py``.

Does what the README tells a newcomer to do, on a throwaway instance configured like the repository's
``dagster.yaml``: the offline quick start, then ``dg dev`` on an offline HN API whose newest item is now, then, from
the command line through the workspace, three hours of ``item_history`` and a ``clone_prod`` launched with a pull
request id that is not one (a refusal). Headless Chromium then captures into ``docs/images/``: the asset graph, the
``items`` asset's columns and latest materialization, the runs of ``refresh_hacker_news`` (the quick start's among
them), the partitions of ``item_history``, and the refused run. Needs Chromium on PATH (Debian/Ubuntu:
``apt-get install chromium``); takes two or three minutes.
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
#: Page (path under the UI) and image file of each screenshot; ``{refused}`` is the refused run's id.
SHOTS = {
    "locations/hn_assets/asset-groups/hacker_news": "asset-graph.png",
    "assets/items": "items-columns.png",
    "assets/items?view=events": "items-materialization.png",
    "locations/hn_assets/jobs/refresh_hacker_news/runs": "refresh-job-runs.png",
    "locations/hn_assets/asset-groups/hacker_news_history": "item-history-graph.png",
    "assets/item_history?view=partitions": "item-history-partitions.png",
    "runs/{refused}": "clone-prod-refused.png",
}
#: Hours of the history launched before the shots, counted back from now.
HISTORY_HOURS = (2, 3, 4)
WINDOW = "1600,1100"
#: Virtual time Chromium gives a page to render before the capture; the UI fetches its data over GraphQL first.
RENDER_MILLISECONDS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    """The UI's own GraphQL endpoint, as the pages under capture ask it."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def locations_loaded(port: int) -> bool:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
    try:
        entries = graphql(port, query)["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)


def launch(env: dict[str, str], location: str, job: str, option: str, value: str) -> None:
    """A run through the workspace, as the README launches it: queued on the instance, started by dg dev's daemon."""
    command = [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-l", location, "-j", job, option, value]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


def wait_for_runs(port: int, count: int) -> dict[str, str]:
    """Job name of each finished run, once ``count`` runs have finished (success or failure)."""
    query = "{ runsOrError { ... on Runs { results { runId jobName status } } } }"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = graphql(port, query)["runsOrError"]["results"]
        done = {run["runId"]: run["jobName"] for run in runs if run["status"] in ("SUCCESS", "FAILURE")}
        if len(done) >= count:
            return done
        time.sleep(2)
    raise SystemExit(f"the runs did not finish: {runs}")


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
    port, api_port = free_port(), free_port()
    api = subprocess.Popen(
        [str(BIN / "hn-api-server"), "--port", str(api_port), "--newest-at", "now"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    env["HN_API_BASE_URL"] = f"http://127.0.0.1:{api_port}"
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
        now = time.time()
        for hours_ago in HISTORY_HOURS:
            hour = time.strftime("%Y-%m-%d-%H:00", time.gmtime(now - hours_ago * 3600))
            launch(env, "hn_assets", "refresh_item_history", "--tags", json.dumps({"dagster/partition": hour}))
        refusal_config = {"ops": {"clone_production_database": {"config": {"pr_id": "PR-7"}}}}
        launch(env, "db_ops", "clone_prod", "--config-json", json.dumps(refusal_config))
        finished = wait_for_runs(port, 1 + len(HISTORY_HOURS) + 1)
        (refused,) = [run_id for run_id, job in finished.items() if job == "clone_prod"]
        IMAGES.mkdir(parents=True, exist_ok=True)
        for page, name in SHOTS.items():
            capture(chromium, f"http://127.0.0.1:{port}/{page.format(refused=refused)}", IMAGES / name, scratch)
            print(f"wrote {(IMAGES / name).relative_to(ROOT)}")
    finally:
        for process in (server, api):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

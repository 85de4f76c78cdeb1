"""A 24-hour backfill of the history: one run against one run per hour, and against fetching the same ids once.

    uv run python -m benchmarks.history       # about two minutes; writes benchmarks/history_results.json

Against the offline server in its own process (60,000 generated items as irregular as the live site's: about 1,600
an hour, ids out of time order, re-dated stories, stretches of never-created ids; 20 ms per request), each in a fresh
process into a new DuckDB file, for the same 24 hours in the middle of the fixture:

- the edges of the 24 hours, searched together, and one fetch of all their ids: the floor a backfill cannot beat;
- ``dg launch --assets item_history --partition-range FIRST...LAST``: the command line's backfill, one run;
- the same range as one run in a process already loaded, and as 24 one-hour runs in one process (what a backfill
  with one run per hour costs at the least: each run in the UI also starts a process of its own).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.child import REPO_ROOT, child_env
from benchmarks.machine import machine_info
from benchmarks.materialize import run_local_child
from benchmarks.server import ServerProcess
from hn_core.fixtures import IRREGULAR_MIX, generate_items

HOUR = 3600
FIXTURE_ITEMS = 60_000
LATENCY_MS = 20.0
HOURS = 24


def partition_key(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d-%H:%M")


def middle_hours() -> list[str]:
    """``HOURS`` consecutive complete hours in the middle of what the server serves."""
    times = sorted(item["time"] for item in generate_items(FIXTURE_ITEMS, mix=IRREGULAR_MIX).values() if item)
    first = times[len(times) // 4] // HOUR * HOUR
    return [partition_key(first + h * HOUR) for h in range(HOURS)]


def dg_launch(first: str, last: str, base_url: str, duckdb_path: Path) -> dict[str, Any]:
    env = child_env({"DAGSTER_DEPLOYMENT": "local", "HN_API_BASE_URL": base_url, "HN_DUCKDB_PATH": str(duckdb_path)})
    command = ["dg", "launch", "--target-path", "packages/hn_assets", "--assets", "item_history"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--partition-range", f"{first}...{last}"], cwd=REPO_ROOT, env=env, capture_output=True, check=False
    )
    return {"success": done.returncode == 0, "process_seconds": time.perf_counter() - started}


def main() -> None:
    hours = middle_hours()
    first, last = hours[0], hours[-1]
    results: dict[str, Any] = {"machine": machine_info(), "hours": [first, last], "latency_ms": LATENCY_MS}
    with ServerProcess(LATENCY_MS, items=FIXTURE_ITEMS) as server, tempfile.TemporaryDirectory() as folder:
        for mode in ("fetch", "range", "hours"):
            path = Path(folder) / f"{mode}.duckdb"
            results[mode] = run_local_child("benchmarks.history_run", (mode, first, last), server.base_url, path)
        results["dg_launch"] = dg_launch(first, last, server.base_url, Path(folder) / "launch.duckdb")
    (Path(__file__).parent / "history_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""A 24-hour backfill of the history: one run against one run per hour, and against fetching the same ids once.

    uv run python -m benchmarks.history       # about two minutes; writes benchmarks/history_results.json

Against the offline server in its own process (60,000 generated items as irregular as the live site's: about 1,600
an hour, ids out of time order, re-dated stories, stretches of never-created ids; 20 ms per request), each in a fresh
process into a new DuckDB file, for the same 24 hours in the middle of the fixture:

- the edges of the 24 hours, searched together, and one fetch of all their ids: the floor a backfill cannot beat;
- ``dg launch --assets item_history --partition-range FIRST...LAST``: the command line's backfill, one run;
- the same range as one run in a process already loaded, and as 24 one-hour runs in one process (what a backfill
  with one run per hour costs at the least: each run in the UI also starts a process of its own).

And, in this process, the rounds of the edge search among 45 million ids (the live API's size) whose rate grew
thirtyfold over the years, simulated without a network: for one edge, and for the 25 edges of a day searched together.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.child import REPO_ROOT, child_env
from benchmarks.machine import machine_info
from benchmarks.materialize import run_local_child
from benchmarks.server import ServerProcess
from hn_assets.id_window import find_edges
from hn_core.hn_api.client import FetchResult, HNClient, ProgressCallback
from hn_core.hn_api.model import HNItem
from hn_offline_api.fixtures import IRREGULAR_MIX, generate_items

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


class SimulatedHistory(HNClient):
    """45 million ids whose times a Poisson process draws, the rate growing from 60 s to 2.2 s per id; 1% null.
    Counts the batches asked for: one per round of the edge search."""

    def __init__(self, ids: int = 45_000_000, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        gaps = np.linspace(60, 2.2, ids) * rng.exponential(1.0, ids)
        self.times = (1_160_418_111 + np.cumsum(gaps)).astype(np.int64)
        self.rounds = 0

    def fetch_max_item_id(self) -> int:
        return len(self.times)

    def fetch_item_by_id(self, item_id: int) -> HNItem | None:
        return None if item_id % 97 == 0 else HNItem(id=item_id, type="comment", time=int(self.times[item_id - 1]))

    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> FetchResult:
        self.rounds += 1
        answers = {item_id: self.fetch_item_by_id(item_id) for item_id in ids}
        return FetchResult(
            rows=[item for item in answers.values() if item is not None],
            missing_ids=[item_id for item_id, item in answers.items() if item is None],
        )


def simulated_rounds() -> dict[str, int]:
    """Rounds and ids looked at for one edge and for a day's 25 edges, two days before the newest item."""
    client = SimulatedHistory()
    day = int(client.times[-1]) // HOUR * HOUR - 48 * HOUR
    result = {}
    for name, instants in (("one_edge", [day]), ("day_of_edges", [day + h * HOUR for h in range(HOURS + 1)])):
        client.rounds = 0
        edges = find_edges(client, instants)
        result |= {f"{name}_rounds": client.rounds, f"{name}_ids": len(edges.probes)}
    return result


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
    results["simulated_45_million_ids"] = simulated_rounds()
    (Path(__file__).parent / "history_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

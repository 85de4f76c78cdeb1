"""What one hourly partition of the history costs, against refetching the N most recent items.

    uv run python -m benchmarks.history            # about two minutes; writes benchmarks/history_results.json

Against the offline server in its own process (60,000 generated items at the live site's rate, about 1,600 an hour
over 36 hours, 20 ms per request), each in a fresh process:

- three hours of ``item_history``, from the first, middle and last third of the fixture: the id-window search alone,
  the fetch of the window alone, then the whole ``refresh_item_history`` run into a new DuckDB file;
- ``refresh_hacker_news`` (the guide's assets) for N = one hour's items and N = 24 hours' items: what a refresh costs
  when it must refetch what it already has.

And, in this process, the probes an hour takes among 42 million ids (the live API's size) whose rate grew thirtyfold
over the years, simulated without a network: the search as it is, and bisection alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from benchmarks.child import REPO_ROOT
from benchmarks.machine import machine_info
from benchmarks.materialize import run_local_child
from benchmarks.server import ServerProcess
from hn_core.client import HNClient, ProgressCallback
from hn_core.fixtures import generate_items
from hn_core.id_window import Timeline, find_id_window
from hn_core.model import HNItem

HOUR = 3600
FIXTURE_ITEMS = 60_000
LATENCY_MS = 20.0


def partition_key(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d-%H:%M")


def hours_of_the_fixture() -> tuple[list[int], dict[int, int]]:
    """Three complete hours across the server's fixture, and the item count of every hour."""
    times = sorted(item["time"] for item in generate_items(FIXTURE_ITEMS).values() if item)  # what the server serves
    counts: dict[int, int] = {}
    for moment in times:
        counts[moment - moment % HOUR] = counts.get(moment - moment % HOUR, 0) + 1
    complete = sorted(counts)[1:-1]
    return [complete[len(complete) * share // 6] for share in (1, 3, 5)], counts


class SimulatedHistory(HNClient):
    """42 million ids whose times a Poisson process draws, the rate growing from 60 s to 2.2 s per id; 1% null."""

    def __init__(self, ids: int = 42_000_000, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        gaps = np.linspace(60, 2.2, ids) * rng.exponential(1.0, ids)
        self.times = (1_160_418_111 + np.cumsum(gaps)).astype(np.int64)

    def fetch_max_item_id(self) -> int:
        return len(self.times)

    def fetch_item_by_id(self, item_id: int) -> HNItem | None:
        if item_id % 97 == 0:
            return None
        return HNItem(id=item_id, type="comment", time=int(self.times[item_id - 1]))

    def fetch_items(self, ids: Sequence[int], progress: ProgressCallback | None = None) -> Any:
        raise NotImplementedError("the simulation answers probes only")


def simulated_probes(hours: int = 60) -> dict[str, Any]:
    client = SimulatedHistory()
    newest = int(client.times[-1])
    starts = [newest - newest % HOUR - step * 37 * HOUR for step in range(1, hours + 1)]

    def probes() -> list[int]:
        return [len(find_id_window(client, start, start + HOUR).probes) for start in starts]

    steered = probes()
    with mock.patch.object(Timeline, "_interpolate", return_value=None):
        bisection = probes()
    return {
        "ids": len(client.times),
        "hours": hours,
        "search": {"median": statistics.median(steered), "min": min(steered), "max": max(steered)},
        "bisection": {"median": statistics.median(bisection), "min": min(bisection), "max": max(bisection)},
    }


def render(results: dict[str, Any]) -> str:
    lines = [
        "| work | requests | wall s (child) | rows |",
        "|---|---|---|---|",
    ]
    for hour in results["hours"]:
        step = hour["step_seconds"].get("item_history", 0.0)
        lines.append(
            f"| hour {hour['partition_key']}: search | {hour['probes']} probes | {hour['search_seconds']:.2f} | |"
        )
        lines.append(
            f"| hour {hour['partition_key']}: fetch the window | {hour['ids']} ids | {hour['fetch_seconds']:.2f} | |"
        )
        lines.append(
            f"| hour {hour['partition_key']}: whole run (asset step {step:.2f} s, 3 checks) | "
            f"{hour['run_probes'] + hour['ids'] + 1} | {hour['run_seconds']:.2f} | {hour['rows']} |"
        )
    for refetch in results["refetch"]:
        rows = ", ".join(f"{table} {count}" for table, count in refetch["rows"].items())
        lines.append(
            f"| refetch N = {refetch['n']:,} ({refetch['covers']}) | {refetch['n'] + 1:,} | "
            f"{refetch['run_seconds']:.2f} | {rows} |"
        )
    simulated = results["simulated_probes"]
    lines.append("")
    lines.append(
        f"Probes per hour among {simulated['ids']:,} simulated ids ({simulated['hours']} hours): search median "
        f"{simulated['search']['median']} (range {simulated['search']['min']}-{simulated['search']['max']}), "
        f"bisection alone median {simulated['bisection']['median']} "
        f"(range {simulated['bisection']['min']}-{simulated['bisection']['max']})."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "history_results.json")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {
        "machine": machine_info(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "fixture_items": FIXTURE_ITEMS,
        "latency_ms": LATENCY_MS,
    }
    hours, counts = hours_of_the_fixture()
    per_hour = round(statistics.median(counts[hour] for hour in sorted(counts)[1:-1]))
    results["items_per_hour_median"] = per_hour
    with ServerProcess(latency_ms=LATENCY_MS, items=FIXTURE_ITEMS) as server, tempfile.TemporaryDirectory() as scratch:
        results["hours"] = [
            run_local_child(
                "benchmarks.history_run", partition_key(hour), server.base_url, Path(scratch) / f"hour{i}.db"
            )
            for i, hour in enumerate(hours)
        ]
        results["refetch"] = []
        for n, covers in ((per_hour, "one hour's items"), (24 * per_hour, "24 hours' items")):
            refetch = run_local_child("benchmarks.materialize_run", n, server.base_url, Path(scratch) / f"{n}.db")
            refetch["covers"] = covers
            results["refetch"].append(refetch)
    results["simulated_probes"] = simulated_probes()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nWrote {args.output}.")


if __name__ == "__main__":
    main()

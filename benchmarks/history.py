"""A 24-hour backfill of the history in one run, against one run per hour and against fetching the same ids once.

The offline HN API serves 60,000 generated items as irregular as the live site's history (about 1,600 an hour, ids
out of time order, re-dated stories, stretches of never-created ids) at 20 ms a request. For the same hours, each
way into a new DuckDB file and timed in a fresh process once the location is loaded: the hours' edges searched
together then one fetch of all their ids (the floor), one ``refresh_item_history`` run of the range (as with
``BackfillPolicy.single_run``), one run per hour; then the whole ``dg launch --partition-range`` command. And the
rounds of the edge search among 45 million simulated ids (the live API's size), whose rate grew thirtyfold.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.dagster_runs import dagster_home, enter, local_environment, markdown, peak_rss_mb, step_seconds
from benchmarks.processes import REPO_ROOT, ServerProcess, in_fresh_process

HOUR = 3600


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=int, default=24, help="hours of the backfill (24)")
    parser.add_argument("--fixture-items", type=int, default=60_000, help="items the server holds (60000)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="server latency per request (20)")
    parser.add_argument("--simulated-ids", type=int, default=45_000_000, help="ids of the simulated API (45000000)")


def middle_hours(fixture_items: int, hours: int) -> tuple[str, ...]:
    """The hour of the first item the server generates, where the history starts, and the first and last of ``hours``
    consecutive complete hours a quarter of the way into its items, as partition keys."""
    from hn_offline_api.fixtures import IRREGULAR_MIX, generate_items

    times = sorted(item["time"] for item in generate_items(fixture_items, mix=IRREGULAR_MIX).values() if item)
    start, first = times[0] // HOUR * HOUR, times[len(times) // 4] // HOUR * HOUR
    hours_ = (start, first, first + (hours - 1) * HOUR)
    return tuple(datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d-%H:%M") for hour in hours_)


def history_once(mode: str, first: str, last: str, variables: dict[str, str], folder: str) -> dict[str, Any]:
    """In a fresh process, timed once the location is loaded and the runs' ephemeral instance made: ``fetch``,
    ``range`` or ``hours`` (see the module docstring) for the partitions ``first`` to ``last``."""
    enter(local_environment(**variables, HN_DUCKDB_PATH=f"{folder}/hn.duckdb"))
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from hn_assets.definitions import defs
    from hn_assets.history import HOURLY
    from hn_assets.id_window import find_edges
    from hn_core.hn_api.http_client import HNAPIClient

    job = defs().resolve_job_def("refresh_item_history")
    keys = HOURLY.get_partition_keys_in_range(dg.PartitionKeyRange(first, last))
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    if mode == "fetch":
        client = HNAPIClient()
        instants = [int(HOURLY.time_window_for_partition_key(key).start.timestamp()) for key in keys]
        edges = find_edges(client, [*instants, instants[-1] + HOUR])
        searched = time.perf_counter()
        fetched = client.fetch_items(range(edges.ids[instants[0]], edges.ids[instants[-1] + HOUR]))
        result = {"search_seconds": searched - started, "probes": len(edges.probes), "ids": fetched.requested}
        started = searched
    elif mode == "range":
        tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
        done = job.execute_in_process(tags=tags, instance=instance)
        metadata = done.asset_materializations_for_node("item_history")[0].metadata
        result = {"rows": metadata["dagster/partition_row_count"].value, "steps": step_seconds(instance, done.run_id)}
    else:
        result = {"runs": len([job.execute_in_process(partition_key=key, instance=instance) for key in keys])}
    return result | {"seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def dg_launch(first: str, last: str, variables: dict[str, str], folder: str) -> dict[str, Any]:
    """The whole ``dg launch`` command for the range, on a fresh instance in ``folder``."""
    env = local_environment(**variables, HN_DUCKDB_PATH=f"{folder}/hn.duckdb") | dagster_home(Path(folder))
    command = [str(Path(sys.executable).parent / "dg"), "launch", "--target-path", "packages/hn_assets"]
    command += ["--assets", "item_history", "--partition-range", f"{first}...{last}"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"dg launch failed: {done.stderr[-3000:]}")
    return {"seconds": time.perf_counter() - started}


def simulated_rounds(ids: int, hours: int) -> dict[str, int]:
    """Rounds (batches asked for) and ids looked at, for one edge and for the ``hours + 1`` edges of ``hours``, two
    days before the newest of ``ids`` simulated ids: times from a Poisson process, 60 s to 2.2 s apart, 1% null."""
    import numpy as np

    from hn_assets.id_window import find_edges
    from hn_core.hn_api.client import FetchResult, StubHNClient
    from hn_core.hn_api.model import HNItem

    class SimulatedHistory(StubHNClient):
        def __init__(self) -> None:
            super().__init__({}, max_item_id=ids)
            gaps = np.linspace(60, 2.2, ids) * np.random.default_rng(0).exponential(1.0, ids)
            self.times, self.rounds = (1_160_418_111 + np.cumsum(gaps)).astype(np.int64), 0

        def fetch_item_by_id(self, item_id: int) -> HNItem | None:
            return None if item_id % 97 == 0 else HNItem(id=item_id, type="comment", time=int(self.times[item_id - 1]))

        def fetch_items(self, ids: Sequence[int], progress: Any = None) -> FetchResult:
            self.rounds += 1
            return super().fetch_items(ids, progress)

    client = SimulatedHistory()
    day = int(client.times[-1]) // HOUR * HOUR - 48 * HOUR
    result = {"ids": ids}
    for name, instants in (("edge", [day]), ("day", [day + h * HOUR for h in range(hours + 1)])):
        client.rounds = 0
        result |= {f"{name}_ids": len(find_edges(client, instants).probes), f"{name}_rounds": client.rounds}
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    start, first, last = in_fresh_process(middle_hours, args.fixture_items, args.hours)  # keeps this process small
    results: dict[str, Any] = {"partitions": f"{first}...{last}", "count": args.hours}
    with ServerProcess("--items", args.fixture_items, "--latency-ms", args.latency_ms) as server:
        variables = {"HN_HISTORY_START": start, "HN_API_BASE_URL": server.base_url}
        for mode in ("fetch", "range", "hours"):
            with tempfile.TemporaryDirectory() as folder:
                results[mode] = in_fresh_process(history_once, mode, first, last, variables, folder)
        with tempfile.TemporaryDirectory() as folder:
            results["dg launch"] = dg_launch(first, last, variables, folder)
    return results | {"simulated": simulated_rounds(args.simulated_ids, args.hours)}


def report(results: dict[str, Any]) -> str:
    hours, fetch, ranged, simulated = results["count"], results["fetch"], results["range"], results["simulated"]
    checks = {step: seconds for step, seconds in ranged["steps"].items() if step != "item_history"}
    steps = f"`item_history` {ranged['steps']['item_history']:.2f} s, {len(checks)} checks {sum(checks.values()):.2f} s"
    rows = [
        ("the edges, searched together", fetch["search_seconds"], 0, f"{fetch['probes']:,} ids looked at"),
        ("one fetch of all their ids: the floor", fetch["seconds"], fetch["peak_rss_mb"], f"{fetch['ids']:,} ids"),
        ("one run of the range, in a loaded process", ranged["seconds"], ranged["peak_rss_mb"], steps),
        ("`dg launch --partition-range`, the whole command", results["dg launch"]["seconds"], 0, "the same run"),
        ("one run per hour, in a loaded process", results["hours"]["seconds"], results["hours"]["peak_rss_mb"], ""),
    ]
    floor = fetch["seconds"]
    table = [[work, f"{s:.2f}", f"{s / floor:.2f}x", f"{mb:.0f}" if mb else "", why] for work, s, mb, why in rows]
    return (
        f"{hours} hours, {results['partitions']}: {ranged['rows']:,} rows.\n\n"
        + markdown(["work", "wall s", "against one fetch", "peak MB", "detail"], table)
        + f"\n\nThe edge search among {simulated['ids']:,} simulated ids: one edge {simulated['edge_rounds']} rounds"
        f" and {simulated['edge_ids']:,} ids; {hours + 1} edges {simulated['day_rounds']} rounds and "
        f"{simulated['day_ids']:,} ids."
    )

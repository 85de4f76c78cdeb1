"""End to end: ``items -> comments/stories`` into DuckDB for N items from the server process."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.child import child_env, module_command, run_json
from benchmarks.machine import load_average
from benchmarks.server import ServerProcess


def run_local_child(module: str, argument: object, base_url: str, duckdb_path: Path) -> dict[str, Any]:
    """``python -m module argument`` in the local environment, on the HN API at ``base_url``, into ``duckdb_path``;
    ``argument`` may be a tuple of arguments."""
    env = child_env(
        {
            "DAGSTER_DEPLOYMENT": "local",
            "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": None,
            "HN_LOCAL_WAREHOUSE": None,
            "HN_API_BASE_URL": base_url,
            "HN_DUCKDB_PATH": str(duckdb_path),
        }
    )
    load_before, started = load_average(), time.perf_counter()
    arguments = argument if isinstance(argument, tuple) else (argument,)
    result = run_json(module_command(module, *arguments), env=env)
    result["process_seconds"] = time.perf_counter() - started
    result["load_average_before"], result["load_average_after"] = load_before, load_average()
    return result


def measure_materialization(n: int, latency_ms: float, runs: int, fixture_items: int) -> dict[str, Any]:
    """``runs`` fresh-process runs of the ``refresh_hacker_news`` job, each into a new DuckDB file."""
    results = []
    with ServerProcess(latency_ms=latency_ms, items=fixture_items) as server, tempfile.TemporaryDirectory() as scratch:
        for run in range(runs):
            path = Path(scratch) / f"run{run}.duckdb"
            results.append(run_local_child("benchmarks.materialize_run", n, server.base_url, path))
    return {
        "n": n,
        "latency_ms": latency_ms,
        "runs": results,
        "all_succeeded": all(run["success"] for run in results),
        "median_run_seconds": statistics.median(run["run_seconds"] for run in results),
        "median_items_step_seconds": statistics.median(run["step_seconds"].get("items", 0.0) for run in results),
        "median_process_seconds": statistics.median(run["process_seconds"] for run in results),
    }

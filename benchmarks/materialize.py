"""End to end: the ``refresh_hacker_news`` job for the N most recent items into a new DuckDB file.

The offline HN API runs in its own process (``ServerProcess``); each run in a freshly spawned interpreter, which loads
``hn_assets`` in the local environment as ``dagster dev`` would and runs the job in process on an ephemeral instance
(items, then comments and stories, and the asset checks). Reported: the job's wall time, the ``items`` step's (the
fetch, the frame, its metadata and the DuckDB write), the parent's wall time for the whole process, and the rows.
"""

import argparse
import tempfile
import time
from typing import Any

from benchmarks.dagster_runs import enter, local_environment, markdown, peak_rss_mb, spread, step_seconds
from benchmarks.processes import ServerProcess, in_fresh_process

TABLES = ("ITEMS", "COMMENTS", "STORIES")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=20_000, help="items to materialize (20000)")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[20.0, 0.0], help="server latencies (20 0)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per latency, each in a fresh process (1)")
    parser.add_argument("--fixture-items", type=int, default=25_000, help="items the server holds (25000)")


def materialize_once(n: int, base_url: str, duckdb_path: str) -> dict[str, Any]:
    """In a fresh process: load ``hn_assets``, run the job for ``n`` items, count the rows it stored."""
    enter(local_environment(HN_API_BASE_URL=base_url, HN_DUCKDB_PATH=duckdb_path))
    import dagster as dg
    import duckdb

    started = time.perf_counter()
    from hn_assets.definitions import defs

    job = defs().resolve_job_def("refresh_hacker_news")
    loaded = time.perf_counter()
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": n}}}}, instance=instance)
    finished, steps = time.perf_counter(), step_seconds(instance, result.run_id)
    with duckdb.connect(duckdb_path, read_only=True) as connection:
        rows = {name: connection.execute(f"SELECT count(*) FROM HACKER_NEWS.{name}").fetchone()[0] for name in TABLES}
    measured = {"load_seconds": loaded - started, "run_seconds": finished - loaded, "items_seconds": steps["items"]}
    return measured | {"success": result.success, "steps": steps, "rows": rows, "peak_rss_mb": peak_rss_mb()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    for latency in args.latency_ms:
        with ServerProcess("--items", args.fixture_items, "--latency-ms", latency) as server:
            for _ in range(args.rounds):
                with tempfile.TemporaryDirectory() as scratch:
                    started = time.perf_counter()
                    result = in_fresh_process(materialize_once, args.n, server.base_url, f"{scratch}/hn.duckdb")
                    runs.append(result | {"latency_ms": latency, "process_seconds": time.perf_counter() - started})
    return {"n": args.n, "runs": runs}


def report(results: dict[str, Any]) -> str:
    rows = []
    for latency in dict.fromkeys(run["latency_ms"] for run in results["runs"]):
        runs = [run for run in results["runs"] if run["latency_ms"] == latency]
        seconds = [spread([run[key] for run in runs], 1) for key in ("run_seconds", "items_seconds", "process_seconds")]
        stored = ", ".join(f"{name} {count:,}" for name, count in runs[0]["rows"].items())
        succeeded = "yes" if all(run["success"] for run in runs) else "no"
        rows.append([f"{results['n']:,}", f"{latency:g} ms", *seconds, stored, succeeded])
    return markdown(["N", "server latency", "job wall s", "items step s", "process wall s", "rows", "succeeded"], rows)

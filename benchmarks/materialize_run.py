"""One end-to-end run in a fresh process: ``python -m benchmarks.materialize_run N``.

Loads ``hn_assets`` in the local environment as ``dagster dev`` would (``HN_API_BASE_URL`` and ``HN_DUCKDB_PATH``
come from the parent), runs the ``refresh_hacker_news`` job for the N most recent items on an ephemeral instance,
and prints the load and run wall times, each step's duration and the row counts in DuckDB.
"""

from __future__ import annotations

import argparse
import os
import time

import dagster as dg
import duckdb

from benchmarks.child import emit
from benchmarks.process_stats import peak_rss

TABLES = ("ITEMS", "COMMENTS", "STORIES")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from hn_assets.definitions import defs

    job = defs().resolve_job_def("refresh_hacker_news")
    loaded = time.perf_counter()
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        run_config={"ops": {"items": {"config": {"base_item_id": args.n}}}}, instance=instance
    )
    finished = time.perf_counter()
    steps = {
        stats.step_key: stats.end_time - stats.start_time
        for stats in instance.get_run_step_stats(result.run_id)
        if stats.start_time is not None and stats.end_time is not None
    }
    with duckdb.connect(os.environ["HN_DUCKDB_PATH"], read_only=True) as connection:
        rows = {
            table: connection.execute(f"SELECT count(*) FROM HACKER_NEWS.{table}").fetchone()[0] for table in TABLES
        }
    emit(
        {
            "n": args.n,
            "success": result.success,
            "load_seconds": loaded - started,
            "run_seconds": finished - loaded,
            "step_seconds": steps,
            "rows": rows,
            "peak_rss": peak_rss(),
        }
    )


if __name__ == "__main__":
    main()

"""One hour of the history in a fresh process: ``python -m benchmarks.history_run PARTITION_KEY``.

Loads ``hn_assets`` in the local environment as ``dagster dev`` would (``HN_API_BASE_URL`` and ``HN_DUCKDB_PATH``
come from the parent). First times the two halves of an hour's work on their own, with the client the asset uses:
the id-window search (sequential probes) and the fetch of the window (concurrent). Then runs ``refresh_item_history``
for the hour on an ephemeral instance (search, fetch, DuckDB write and the three checks) and prints the wall times,
each step's duration, the probes and the rows.
"""

from __future__ import annotations

import argparse
import time

import dagster as dg

from benchmarks.child import emit
from hn_core.api_client import HNAPIClient
from hn_core.id_window import find_id_window


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("partition_key")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from hn_assets.definitions import defs
    from hn_assets.history import HOURLY, unix_bounds

    job = defs().resolve_job_def("refresh_item_history")
    loaded = time.perf_counter()
    start, end = unix_bounds(HOURLY.time_window_for_partition_key(args.partition_key))
    client = HNAPIClient()
    window = find_id_window(client, start, end)
    searched = time.perf_counter()
    fetched = client.fetch_items(window.ids)
    fetched_at = time.perf_counter()

    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(partition_key=args.partition_key, instance=instance)
    finished = time.perf_counter()
    steps = {
        stats.step_key: stats.end_time - stats.start_time
        for stats in instance.get_run_step_stats(result.run_id)
        if stats.start_time is not None and stats.end_time is not None
    }
    metadata = result.asset_materializations_for_node("item_history")[0].metadata
    emit(
        {
            "partition_key": args.partition_key,
            "success": result.success,
            "load_seconds": loaded - started,
            "search_seconds": searched - loaded,
            "probes": len(window.probes),
            "ids": len(window.ids),
            "fetch_seconds": fetched_at - searched,
            "fetched_rows": len(fetched.rows),
            "run_seconds": finished - fetched_at,
            "step_seconds": steps,
            "run_probes": metadata["probe_count"].value,
            "rows": metadata["dagster/row_count"].value,
        }
    )


if __name__ == "__main__":
    main()

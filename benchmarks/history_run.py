"""Hours of the history in a fresh process: ``python -m benchmarks.history_run MODE FIRST LAST`` (partition keys).

Loads ``hn_assets`` in the local environment as ``dagster dev`` would (``HN_API_BASE_URL`` and ``HN_DUCKDB_PATH``
come from the parent), then, by ``MODE``:

- ``fetch``: the hours' edges (``find_edges``, all together) and one fetch of all their ids, with the asset's client;
- ``range``: one ``refresh_item_history`` run of the whole range, as a backfill with ``BackfillPolicy.single_run``;
- ``hours``: one run per hour, in this process, as a backfill with one run per partition would make them.

Prints the wall times and what was fetched and stored.
"""

from __future__ import annotations

import argparse
import resource
import time

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from benchmarks.child import emit
from hn_assets.id_window import find_edges
from hn_core.hn_api.http_client import HNAPIClient


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["fetch", "range", "hours"])
    parser.add_argument("first")
    parser.add_argument("last")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from hn_assets.definitions import defs
    from hn_assets.history import HOURLY

    job = defs().resolve_job_def("refresh_item_history")
    keys = HOURLY.get_partition_keys_in_range(dg.PartitionKeyRange(args.first, args.last))
    instance = dg.DagsterInstance.ephemeral()  # the runs' instance, made before the clock starts: not their work
    loaded = time.perf_counter()
    result: dict[str, object] = {"mode": args.mode, "hours": len(keys), "load_seconds": loaded - started}
    if args.mode == "fetch":
        client = HNAPIClient()
        starts = [int(HOURLY.time_window_for_partition_key(key).start.timestamp()) for key in keys]
        edges = find_edges(client, [*starts, starts[-1] + 3600])
        searched = time.perf_counter()
        fetched = client.fetch_items(range(edges.ids[starts[0]], edges.ids[starts[-1] + 3600]))
        result |= {
            "search_seconds": searched - loaded,
            "probes": len(edges.probes),
            "fetch_seconds": time.perf_counter() - searched,
            "ids": fetched.requested,
        }
    elif args.mode == "range":
        tags = {ASSET_PARTITION_RANGE_START_TAG: args.first, ASSET_PARTITION_RANGE_END_TAG: args.last}
        run = job.execute_in_process(tags=tags, instance=instance)
        metadata = run.asset_materializations_for_node("item_history")[0].metadata
        result |= {
            "success": run.success,
            "run_seconds": time.perf_counter() - loaded,
            "rows": metadata["dagster/partition_row_count"].value,
            "step_seconds": {
                stats.step_key: round(stats.end_time - stats.start_time, 2)
                for stats in instance.get_run_step_stats(run.run_id)
                if stats.start_time is not None and stats.end_time is not None
            },
        }
    else:
        runs = [job.execute_in_process(partition_key=key, instance=instance) for key in keys]
        result |= {"success": all(run.success for run in runs), "run_seconds": time.perf_counter() - loaded}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit(result)


if __name__ == "__main__":
    main()

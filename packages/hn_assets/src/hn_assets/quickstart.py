"""Offline quick start: materialize items, comments and stories into the local DuckDB file, no network needed.

It serves generated items from the offline HN API on 127.0.0.1, loads this location exactly as ``dagster dev``
would in the local environment, runs the ``refresh_hacker_news`` job, then prints the row count of each table.
"""

import argparse
import os
from collections.abc import Sequence
from unittest import mock

import dagster as dg
import duckdb

from hn_assets.definitions import defs
from hn_core.environment import Environment, Store, resolve_target
from hn_core.fixtures import generate_items
from hn_core.offline_server import OfflineHNAPI, serve_in_thread

TABLES = ("ITEMS", "COMMENTS", "STORIES")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hn-quickstart", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000, help="N, the number of most recent items (1000)")
    parser.add_argument("--fixture-size", type=int, default=5_000, help="items the offline server holds (5000)")
    return parser.parse_args(argv)


def row_counts(path: str, schema: str) -> dict[str, int]:
    with duckdb.connect(path, read_only=True) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0] for table in TABLES}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    target = resolve_target(os.environ)
    if target.environment is not Environment.LOCAL or target.store is not Store.DUCKDB:
        raise SystemExit(
            f"The quick start writes only to the local DuckDB file; this environment is {target.description}."
        )
    api = OfflineHNAPI(generate_items(args.fixture_size))
    with serve_in_thread(api) as base_url, mock.patch.dict(os.environ, {"HN_API_BASE_URL": base_url}):
        result = (
            defs()
            .resolve_job_def("refresh_hacker_news")
            .execute_in_process(
                run_config={"ops": {"items": {"config": {"base_item_id": args.items}}}},
                instance=dg.DagsterInstance.ephemeral(),
            )
        )
    if not result.success:
        raise SystemExit("The run failed; see the log above.")
    print(f"Materialized into {target.duckdb_path} (schema {target.schema}):")
    for table, count in row_counts(target.duckdb_path, target.schema).items():
        print(f"  {table:<9} {count:>6} rows")


if __name__ == "__main__":
    main()

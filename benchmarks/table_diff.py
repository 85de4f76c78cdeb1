"""The diff of two 1,000,000-row tables on DuckDB: wall time and memory of ``hn_assets.table_diff.diff_tables``.

One DuckDB file holds ``BASE.ITEMS`` and ``HEAD.ITEMS``, shaped like ITEMS: the head drops 1% of the base's rows,
adds 1% new ones, changes ``score`` in 2% of the rows and ``text`` in 0.5%, and adds a column. Each diff runs in a
freshly spawned interpreter, through the query resource the ``<asset>_differs_from_base`` checks use: the process's
peak resident memory is its whole cost, imports included. The tables are built in another fresh process, as a
spawned process's ``ru_maxrss`` starts at its parent's resident memory: this process stays small.
"""

import argparse
import tempfile
import time
from typing import Any

import psutil

from benchmarks.dagster_runs import markdown, peak_rss_mb, spread
from benchmarks.processes import in_fresh_process

COLUMNS = (
    "range AS id, 1700000000 + range * 2 AS time, CASE WHEN range % 7 = 0 THEN 'story' ELSE 'comment' END AS type, "
    "'user' || (range % 5000) AS user_id, repeat('word ', 12) || range AS text, range % 900 AS score, "
    "CASE WHEN range % 7 = 0 THEN 'Title ' || range END AS title, NULL::VARCHAR AS url, range % 50 = 0 AS dead"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each table (1000000)")
    parser.add_argument("--rounds", type=int, default=3, help="diffs, each in a fresh process (3)")


def build(path: str, rows: int) -> None:
    import duckdb

    with duckdb.connect(path) as connection:
        connection.execute("CREATE SCHEMA BASE; CREATE SCHEMA HEAD")
        connection.execute(f"CREATE TABLE BASE.ITEMS AS SELECT {COLUMNS} FROM range({rows})")
        head = f"SELECT {COLUMNS} FROM range({rows // 100}, {rows + rows // 100})"
        connection.execute(f"CREATE TABLE HEAD.ITEMS AS SELECT *, 1 AS new_col FROM ({head})")
        connection.execute("UPDATE HEAD.ITEMS SET score = score + 1 WHERE id % 50 = 1")
        connection.execute("UPDATE HEAD.ITEMS SET text = text || '!' WHERE id % 200 = 3")


def diff_once(path: str) -> dict[str, Any]:
    """In a fresh process: the diff's wall time, its counts, and the process's resident memory before and at peak."""
    from hn_assets.table_diff import diff_tables
    from hn_core.warehouse.query import DuckDBWarehouseQuery

    query = DuckDBWarehouseQuery(database=path, schema_name="HEAD")
    before, started = psutil.Process().memory_info().rss / 1e6, time.perf_counter()
    diff = diff_tables(query, "ITEMS", base_schema="BASE", head_schema="HEAD", key="id")
    seconds = time.perf_counter() - started
    counts = {"added": diff.added, "removed": diff.removed, "changed": diff.changed, "shares": diff.changed_share}
    return counts | {"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": peak_rss_mb()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        in_fresh_process(build, f"{folder}/diff.duckdb", args.rows)
        runs = [in_fresh_process(diff_once, f"{folder}/diff.duckdb") for _ in range(args.rounds)]
    return {"rows": args.rows, "runs": runs}


def report(results: dict[str, Any]) -> str:
    runs, last = results["runs"], results["runs"][-1]
    shares = ", ".join(f"`{column}` {share:.1%}" for column, share in last["shares"].items() if share)
    return markdown(
        [f"{results['rows']:,} rows each", "measured"],
        [
            [f"wall time of the whole diff (runs: {len(runs)})", spread([run["seconds"] for run in runs]) + " s"],
            ["peak resident memory of the process", f"{max(run['peak_rss_mb'] for run in runs):.0f} MB"],
            ["of which the process with its imports before the diff", f"{last['rss_before_mb']:.0f} MB"],
            ["result", f"{last['added']:,} added, {last['removed']:,} removed, {last['changed']:,} changed; {shares}"],
        ],
    )

"""The diff of two 1,000,000-row tables on DuckDB: time and memory of ``hn_assets.table_diff`` in a fresh process.

    uv run python -m benchmarks.table_diff        # about half a minute; writes benchmarks/table_diff_results.json

Builds a DuckDB file with ``BASE.ITEMS`` and ``HEAD.ITEMS`` shaped like ITEMS (id, time, type, user_id, text, score,
title, url, dead): the head drops 1% of the base's rows, adds 1% new ones, changes ``score`` in 2% and ``text`` in
0.5%, and adds a column. Then, in a fresh process (so that the build's memory is not counted), runs ``diff_tables``
through the same query resource the checks use and reports the wall time and the process's peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.child import module_command, run_json
from benchmarks.machine import machine_info

ROWS = 1_000_000
COLUMNS = (
    "range AS id, 1700000000 + range * 2 AS time, CASE WHEN range % 7 = 0 THEN 'story' ELSE 'comment' END AS type, "
    "'user' || (range % 5000) AS user_id, repeat('word ', 12) || range AS text, range % 900 AS score, "
    "CASE WHEN range % 7 = 0 THEN 'Title ' || range END AS title, NULL::VARCHAR AS url, range % 50 = 0 AS dead"
)


def build(path: Path) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA BASE; CREATE SCHEMA HEAD")
        connection.execute(f"CREATE TABLE BASE.ITEMS AS SELECT {COLUMNS} FROM range({ROWS})")
        connection.execute(
            f"CREATE TABLE HEAD.ITEMS AS SELECT *, 1 AS new_col FROM (SELECT {COLUMNS} FROM range({ROWS // 100}, "
            f"{ROWS + ROWS // 100}))"
        )
        connection.execute("UPDATE HEAD.ITEMS SET score = score + 1 WHERE id % 50 = 1")
        connection.execute("UPDATE HEAD.ITEMS SET text = text || '!' WHERE id % 200 = 3")


def child(path: str) -> None:
    from hn_assets.table_diff import diff_tables
    from hn_core.warehouse.query import DuckDBWarehouseQuery

    query = DuckDBWarehouseQuery(database=path, schema_name="HEAD")
    started = time.perf_counter()
    diff = diff_tables(query, "ITEMS", base_schema="BASE", head_schema="HEAD", key="id")
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "added": diff.added,
                "removed": diff.removed,
                "changed": diff.changed,
                "changed_share": diff.changed_share,
            }
        )
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "diff.duckdb"
        started = time.perf_counter()
        build(path)
        built = time.perf_counter() - started
        runs = [run_json(module_command("benchmarks.table_diff", "--child", path)) for _ in range(3)]
    results = {"machine": machine_info(), "rows": ROWS, "build_seconds": built, "runs": runs}
    (Path(__file__).parent / "table_diff_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()

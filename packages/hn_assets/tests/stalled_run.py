"""A ``refresh_hacker_news`` run that stops inside one table's write and waits to be killed (test harness).

    python stalled_run.py WAREHOUSE STATE_DIR N STALL_TABLE MARKER

runs the job of this process's environment (the caller sets it: local DuckDB, or production on the Snowflake
emulator persisted in ``STATE_DIR/snowflake``) for the N most recent items. When the write of ``STALL_TABLE`` starts
loading rows, the process creates ``MARKER`` and sleeps until the test kills it with SIGKILL. The pipeline's own
code runs unchanged; only the warehouse client underneath is wrapped, to pause at that moment:

- DuckDB: the first ``INSERT`` into the table (the stock I/O manager has already committed its ``DELETE`` then);
- Snowflake: the first ``write_pandas`` into the table, or into a staging table named after it.
"""

from __future__ import annotations

import re
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any


def stall(marker: Path) -> None:
    marker.touch()
    while True:
        time.sleep(60)


class StallingConnection:
    """A DuckDB connection that pauses on the first INSERT into ``table``; everything else is the real one's."""

    def __init__(self, inner: Any, table: str, marker: Path) -> None:
        self._inner, self._marker = inner, marker
        # DuckDB finds a DataFrame named in SQL among the caller's variables; the caller is now one frame further.
        inner.execute("SET python_scan_all_frames = true")
        self._insert = re.compile(rf"\s*insert\s+into\s+\S*\b{table}\b", re.IGNORECASE)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if self._insert.match(sql):
            stall(self._marker)
        return self._inner.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> StallingConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()


def main(warehouse: str, state: Path, count: int, table: str, marker: Path) -> None:
    with ExitStack() as stack:
        if warehouse == "duckdb":
            import duckdb

            connect = duckdb.connect
            duckdb.connect = lambda *args, **kwargs: StallingConnection(connect(*args, **kwargs), table, marker)
        else:
            from hn_testing import _fakesnow_compat
            from hn_testing.snowflake_emulator import snowflake_emulator

            write_pandas = _fakesnow_compat.write_pandas

            def stalling_write_pandas(conn: Any, df: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
                if table_name.upper().startswith(table.upper()):
                    stall(marker)
                return write_pandas(conn, df, table_name, *args, **kwargs)

            _fakesnow_compat.write_pandas = stalling_write_pandas
            stack.enter_context(snowflake_emulator(state / "snowflake"))
        from hn_assets.definitions import defs

        defs().resolve_job_def("refresh_hacker_news").execute_in_process(
            run_config={"ops": {"items": {"config": {"base_item_id": count}}}}
        )
    raise SystemExit(f"the run finished without writing {table}: nothing to stall on")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5]))

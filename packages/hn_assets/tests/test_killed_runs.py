"""A run killed (SIGKILL) in the middle of a table's write leaves that table exactly as the last good run left it.

A first run materializes the tables for one N; then, for each table, a run for another N is started in a
subprocess, stopped inside that table's write (``stalled_run.py``) and killed. The table being written must be
byte for byte the first run's; every other table must be one run's complete result (those the killed run wrote
before are its own, whole). A last, normal run shows the warehouse is still writable. DuckDB and the Snowflake
emulator alike.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from hn_assets.definitions import defs
from hn_testing.hn_api import RunningHNAPI
from hn_testing.snowflake_emulator import snowflake_emulator

TABLES = ("ITEMS", "COMMENTS", "STORIES")
STALLED_RUN = Path(__file__).with_name("stalled_run.py")
#: A child process needs a few seconds to import Dagster and reach the write; this is only the give-up bound.
STALL_TIMEOUT_SECONDS = 120


FIRST_N, SECOND_N = 60, 150


def materialize(count: int) -> None:
    result = (
        defs()
        .resolve_job_def("refresh_hacker_news")
        .execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": count}}}})
    )
    assert result.success


def duckdb_tables(state: Path) -> dict[str, bytes]:
    with duckdb.connect(str(state / "local.duckdb"), read_only=True) as connection:
        return {t: connection.sql(f"SELECT * FROM HACKER_NEWS.{t} ORDER BY id").df().to_csv().encode() for t in TABLES}


def snowflake_tables(state: Path) -> dict[str, bytes]:
    with snowflake_emulator(state / "snowflake") as emulator:
        return {
            t: emulator.read_table(f"PRODUCTION.HACKER_NEWS.{t}").sort_values("ID").to_csv().encode() for t in TABLES
        }


def kill_during_write(warehouse: str, state: Path, table: str, environment: dict[str, str]) -> None:
    marker = state / f"stalled-in-{table}"
    child = subprocess.Popen(
        [sys.executable, str(STALLED_RUN), warehouse, str(state), str(SECOND_N), table, str(marker)],
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + STALL_TIMEOUT_SECONDS
    while not marker.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the run never reached the write of {table}: {child.communicate()[1].decode()[-2000:]}")
        time.sleep(0.05)
    child.kill()  # SIGKILL: no cleanup, no rollback by the process itself
    child.wait()


@pytest.mark.parametrize("warehouse", ["duckdb", "snowflake"])
def test_a_run_killed_during_any_table_write_leaves_the_previous_tables(
    warehouse: str, tmp_path: Path, hn_api_server: RunningHNAPI, use_environment
) -> None:
    local = warehouse == "duckdb"
    extra = {"HN_DUCKDB_PATH": str(tmp_path / "local.duckdb")} if local else {}
    environment = use_environment("local" if local else "production", HN_API_BASE_URL=hn_api_server.base_url, **extra)
    read: Callable[[Path], dict[str, bytes]] = duckdb_tables if local else snowflake_tables
    warehouse_open = (
        (lambda: contextlib.nullcontext())
        if local
        else (lambda: snowflake_emulator(tmp_path / "snowflake", databases=("PRODUCTION",)))
    )
    with warehouse_open():
        materialize(FIRST_N)
    first = read(tmp_path)

    after_kills = {}
    for table in TABLES:
        kill_during_write(warehouse, tmp_path, table, environment)
        after_kills[table] = read(tmp_path)
    with warehouse_open():
        materialize(SECOND_N)
    second = read(tmp_path)

    assert first != second
    for killed, tables in after_kills.items():
        assert tables[killed] == first[killed], f"the write of {killed} was killed: it must keep the first run's rows"
        for table, content in tables.items():
            assert content in (first[table], second[table]), f"{table} is not one run's whole table"
    assert after_kills["STORIES"]["ITEMS"] == second["ITEMS"], "the killed run wrote ITEMS whole before STORIES"

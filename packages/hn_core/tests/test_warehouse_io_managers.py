"""The warehouse I/O managers, DuckDB and Snowflake alike: a write replaces a table (or a partition) whole, or
leaves it exactly as it was, and every table has the column types its frame declares.

Each test runs the real I/O manager under ``dg.materialize``: DuckDB on a file, Snowflake on the emulator.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hn_core.warehouse.columns import UndeclaredColumnTypeError
from hn_core.warehouse.ledger import TableWithLedger

SCHEMA = "HACKER_NEWS"
GOOD = pd.DataFrame(
    {
        "id": pd.array([1, 2, 3], dtype="int64"),
        "score": pd.array([10, None, 3], dtype="Int64"),
        "text": pd.array(["first", None, "third"], dtype="string"),
    }
)
NEWER = pd.DataFrame(
    {
        "id": pd.array([4, 5], dtype="int64"),
        "score": pd.array([1, 2], dtype="Int64"),
        "text": pd.array(["fourth", "fifth"], dtype="string"),
    }
)
#: What every metadata key looks like: snake_case, under Dagster's namespace or none.
SNAKE_CASE_KEY = re.compile(r"(dagster/)?[a-z][a-z0-9_]*")
UNSTORABLE = NEWER.assign(text=pd.array(["fine", "bad \ud800 surrogate"], dtype="string"))


@dataclass
class Warehouse:
    """One warehouse under test: how to build its I/O manager, read a table back, and list its tables."""

    name: str
    io_manager: Callable[[], dg.ConfigurableIOManagerFactory]
    read: Callable[[str], pd.DataFrame]
    tables: Callable[[], set[str]]
    execute: Callable[[str], None]
    #: The database and schema as ``dagster/table_name`` names them before a table's name.
    qualifier: str = SCHEMA

    def table_name(self, table: str) -> str:
        return f"{self.qualifier}.{table}"


@pytest.fixture(params=["duckdb", "snowflake"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        from hn_core.warehouse.duckdb_io_manager import WarehouseDuckDBIOManager

        path = str(tmp_path / "warehouse.duckdb")

        def sql(statement: str) -> pd.DataFrame:
            with duckdb.connect(path, read_only=True) as connection:
                return connection.sql(statement).df()

        def execute(statement: str) -> None:
            with duckdb.connect(path) as connection:
                connection.execute(statement)

        return Warehouse(
            "duckdb",
            lambda: WarehouseDuckDBIOManager(database=path, schema=SCHEMA),
            lambda table: sql(f"SELECT * FROM {SCHEMA}.{table} ORDER BY 1").rename(columns=str.lower),
            lambda: set(sql("SELECT table_name FROM duckdb_tables()")["table_name"].str.upper()),
            execute,
        )
    from hn_core.warehouse.snowflake_io_manager import WarehouseSnowflakeIOManager

    emulator = request.getfixturevalue("snowflake_emulator")
    return Warehouse(
        "snowflake",
        lambda: WarehouseSnowflakeIOManager(
            account="emulator", user="u", password="p", database="PRODUCTION", schema=SCHEMA
        ),
        lambda table: (
            emulator.read_table(f"PRODUCTION.{SCHEMA}.{table}")
            .rename(columns=str.lower)
            .sort_values("id")
            .reset_index(drop=True)
        ),
        lambda: {name.split(".")[1] for name in emulator.tables("PRODUCTION")},
        emulator.execute,
        f"PRODUCTION.{SCHEMA}",
    )


def write(warehouse: Warehouse, frame: pd.DataFrame, name: str = "items") -> dg.ExecuteInProcessResult:
    @dg.asset(name=name)
    def table() -> pd.DataFrame:
        return frame

    return dg.materialize(
        [table], resources={"io_manager": warehouse.io_manager()}, raise_on_error=False, instance=INSTANCE
    )


INSTANCE = dg.DagsterInstance.ephemeral()


def step_error(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """The class name and message of the error the I/O manager raised, under Dagster's own wrapper."""
    error = result.get_step_failure_events()[0].event_specific_data.error
    assert error.cls_name == "DagsterExecutionHandleOutputError"
    return error.cause.cls_name, error.cause.message


def test_a_write_replaces_the_whole_table(warehouse: Warehouse) -> None:
    assert write(warehouse, GOOD).success
    result = write(warehouse, NEWER)

    assert warehouse.read("ITEMS")["id"].tolist() == [4, 5]
    metadata = result.asset_materializations_for_node("items")[0].metadata
    assert metadata["dagster/row_count"].value == 2
    assert "dataframe_columns" not in metadata, "the column schema is the asset's own, reported once"
    assert warehouse.tables() == {"ITEMS"}, "no staging table is left behind"
    # Named as the warehouse names it (Snowflake: DATABASE.SCHEMA.TABLE), never with the DuckDB file's path.
    assert metadata["dagster/table_name"].value == warehouse.table_name("ITEMS")
    assert metadata["query"].value == f"SELECT * FROM {warehouse.table_name('ITEMS')}"
    assert [key for key in metadata if not SNAKE_CASE_KEY.fullmatch(key)] == []


def test_a_failed_write_leaves_the_previous_rows_exactly(warehouse: Warehouse) -> None:
    assert write(warehouse, GOOD).success
    before = warehouse.read("ITEMS")

    result = write(warehouse, UNSTORABLE)

    assert not result.success
    assert_frame_equal(warehouse.read("ITEMS"), before)
    assert warehouse.tables() == {"ITEMS"}, "no staging table is left behind"


def test_an_all_null_column_gets_its_declared_type_and_later_values_fit(warehouse: Warehouse) -> None:
    only_nulls = GOOD.assign(text=pd.array([None, None, None], dtype="string"), score=pd.NA).astype({"score": "Int64"})

    assert write(warehouse, only_nulls).success
    assert write(warehouse, GOOD).success

    assert warehouse.read("ITEMS")["text"].tolist() == ["first", None, "third"]


def test_an_empty_frame_leaves_an_empty_typed_table(warehouse: Warehouse) -> None:
    assert write(warehouse, GOOD).success

    assert write(warehouse, GOOD.iloc[0:0]).success

    assert warehouse.read("ITEMS").empty
    assert write(warehouse, NEWER).success


def test_columns_may_change_from_one_write_to_the_next(warehouse: Warehouse) -> None:
    assert write(warehouse, GOOD).success

    assert write(warehouse, NEWER.assign(title=pd.array(["a", "b"], dtype="string")).drop(columns="score")).success

    assert list(warehouse.read("ITEMS").columns) == ["id", "text", "title"]


def test_a_column_without_a_declared_type_is_refused_naming_it(warehouse: Warehouse) -> None:
    assert write(warehouse, GOOD).success
    before = warehouse.read("ITEMS")

    result = write(warehouse, GOOD.assign(text=["a", "b", None]))

    assert not result.success
    kind, message = step_error(result)
    assert kind == UndeclaredColumnTypeError.__name__
    assert "Column 'text' has dtype object" in message
    assert_frame_equal(warehouse.read("ITEMS"), before)


# -- partitions ---------------------------------------------------------------------------------------

DAYS = dg.DailyPartitionsDefinition(start_date="2024-05-01")


def day_frame(day: str, ids: list[int]) -> pd.DataFrame:
    moments = pd.to_datetime([f"{day} 0{n % 10}:00:00" for n in range(len(ids))])
    return pd.DataFrame(
        {
            "id": pd.array(ids, dtype="int64"),
            "happened_at": moments,
            "text": pd.array([f"{day}-{i}" for i in ids], "string"),
        }
    )


def write_day(warehouse: Warehouse, day: str, output: pd.DataFrame | TableWithLedger) -> dg.ExecuteInProcessResult:
    """One day of ``events``: a frame, or a frame with its ledger (the I/O manager picks the handler by type)."""

    @dg.asset(name="events", partitions_def=DAYS, metadata={"partition_expr": "happened_at"})
    def events():
        return output

    return dg.materialize(
        [events],
        partition_key=day,
        resources={"io_manager": warehouse.io_manager()},
        raise_on_error=False,
        instance=INSTANCE,
    )


def test_a_partition_write_replaces_only_its_window(warehouse: Warehouse) -> None:
    assert write_day(warehouse, "2024-05-01", day_frame("2024-05-01", [1, 2])).success
    assert write_day(warehouse, "2024-05-02", day_frame("2024-05-02", [3, 4])).success

    result = write_day(warehouse, "2024-05-01", day_frame("2024-05-01", [5]))

    assert result.success
    assert warehouse.read("EVENTS")["id"].tolist() == [3, 4, 5]
    assert warehouse.tables() == {"EVENTS"}
    metadata = result.asset_materializations_for_node("events")[0].metadata
    assert metadata["dagster/table_name"].value == warehouse.table_name("EVENTS")
    assert metadata["query"].value == (
        f"SELECT * FROM {warehouse.table_name('EVENTS')} WHERE\n"
        "happened_at >= '2024-05-01 00:00:00' AND happened_at < '2024-05-02 00:00:00'"
    )


def test_a_failed_partition_write_leaves_every_partition(warehouse: Warehouse) -> None:
    assert write_day(warehouse, "2024-05-01", day_frame("2024-05-01", [1, 2])).success
    assert write_day(warehouse, "2024-05-02", day_frame("2024-05-02", [3, 4])).success
    before = warehouse.read("EVENTS")
    bad = day_frame("2024-05-01", [5, 6]).assign(text=pd.array(["ok", "bad \ud800"], dtype="string"))

    assert not write_day(warehouse, "2024-05-01", bad).success

    assert_frame_equal(warehouse.read("EVENTS"), before)
    assert warehouse.tables() == {"EVENTS"}


def test_a_partition_write_cannot_change_the_table_s_columns(warehouse: Warehouse) -> None:
    assert write_day(warehouse, "2024-05-01", day_frame("2024-05-01", [1, 2])).success
    before = warehouse.read("EVENTS")

    result = write_day(warehouse, "2024-05-02", day_frame("2024-05-02", [3]).assign(extra=pd.array([1], "Int64")))

    assert not result.success
    assert "A partition's write cannot change a partitioned table" in step_error(result)[1]
    assert_frame_equal(warehouse.read("EVENTS"), before)


# -- a table and its ledger, written together --------------------------------------------------------


def ledger_frame(day: str, note: str) -> pd.DataFrame:
    """One ledger row for ``day`` (its ``id`` only orders the rows read back)."""
    return pd.DataFrame(
        {
            "id": pd.array([int(day[-2:])], "int64"),
            "happened_at": pd.to_datetime([f"{day} 00:00:00"]),
            "note": pd.array([note], "string"),
        }
    )


def write_day_with_ledger(warehouse: Warehouse, day: str, rows: pd.DataFrame, ledger: pd.DataFrame):
    return write_day(warehouse, day, TableWithLedger(rows, ledger, "events_ledger"))


def test_a_partition_and_its_ledger_are_replaced_together_or_not_at_all(warehouse: Warehouse) -> None:
    day = "2024-05-01"
    assert write_day_with_ledger(warehouse, day, day_frame(day, [1, 2]), ledger_frame(day, "first")).success
    assert write_day_with_ledger(
        warehouse, "2024-05-02", day_frame("2024-05-02", [3]), ledger_frame("2024-05-02", "x")
    ).success
    before, ledger_before = warehouse.read("EVENTS"), warehouse.read("EVENTS_LEDGER")

    failed = write_day_with_ledger(warehouse, day, day_frame(day, [5]), ledger_frame(day, "bad \ud800"))

    assert not failed.success, "the ledger's row cannot be stored"
    assert_frame_equal(warehouse.read("EVENTS"), before)
    assert_frame_equal(warehouse.read("EVENTS_LEDGER"), ledger_before)
    assert write_day_with_ledger(warehouse, day, day_frame(day, [5]), ledger_frame(day, "second")).success
    assert warehouse.read("EVENTS")["id"].tolist() == [3, 5]
    assert sorted(warehouse.read("EVENTS_LEDGER")["note"]) == ["second", "x"]
    assert warehouse.tables() == {"EVENTS", "EVENTS_LEDGER"}, "no staging table is left behind"


# -- tables an older version left behind -------------------------------------------------------------


def test_a_duckdb_table_with_a_null_typed_column_is_repaired(tmp_path: Path) -> None:
    from hn_core.warehouse.duckdb_io_manager import WarehouseDuckDBIOManager

    path = str(tmp_path / "old.duckdb")
    with duckdb.connect(path) as connection:
        connection.execute(f"CREATE SCHEMA {SCHEMA}")
        connection.execute(f"CREATE TABLE {SCHEMA}.items AS SELECT 1::BIGINT AS id, NULL AS text")
        connection.execute(
            f"CREATE TABLE {SCHEMA}.events AS SELECT 1::BIGINT AS id, NOW()::TIMESTAMP AS happened_at, NULL AS text"
        )
    warehouse = Warehouse("duckdb", lambda: WarehouseDuckDBIOManager(database=path, schema=SCHEMA), None, None, None)

    assert write(warehouse, GOOD.drop(columns="score")).success
    assert write_day(warehouse, "2024-05-01", day_frame("2024-05-01", [1, 2])).success

    with duckdb.connect(path, read_only=True) as connection:
        types = connection.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE column_name = 'text'"
        ).fetchall()
    assert sorted(types) == [("events", "text", "VARCHAR"), ("items", "text", "VARCHAR")]


def test_a_duckdb_file_held_by_another_process_fails_naming_that_process(tmp_path: Path) -> None:
    from hn_core.warehouse.duckdb_io_manager import WarehouseDuckDBIOManager

    path = str(tmp_path / "held.duckdb")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE, path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        warehouse = Warehouse("duckdb", lambda: WarehouseDuckDBIOManager(database=path, schema=SCHEMA), *[None] * 3)
        started = time.monotonic()

        result = write(warehouse, GOOD)

        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    kind, message = step_error(result)
    assert kind == "WarehouseUnavailableError"
    assert f"is locked by PID {holder.pid} ({sys.executable} -c" in message
    assert "Stop that process" in message
    assert elapsed < 30, "the stock I/O manager retried for about 100 s"


HOLD_FILE = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(120)"


def test_the_duckdb_query_resource_reads_and_cannot_write(tmp_path: Path) -> None:
    from hn_core.warehouse.duckdb_io_manager import WarehouseDuckDBIOManager
    from hn_core.warehouse.query import DuckDBWarehouseQuery

    path = str(tmp_path / "queried.duckdb")
    warehouse = Warehouse("duckdb", lambda: WarehouseDuckDBIOManager(database=path, schema=SCHEMA), *[None] * 3)
    assert write(warehouse, GOOD).success
    query = DuckDBWarehouseQuery(database=path, schema_name=SCHEMA)

    assert query.rows(f"SELECT count(*) FROM {query.table('items')}") == [(3,)]
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        query.rows(f"DELETE FROM {query.table('items')}")

"""The Snowflake emulator runs the real SnowflakePandasIOManager and SnowflakeResource, and each patch matters.

``test_fakesnow_gap`` shows every gap on plain fakesnow (when one of those cases fails, fakesnow has fixed
the gap and its patch can go); the other tests show the emulator bridging it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import dagster as dg
import duckdb
import fakesnow
import pandas as pd
import pytest
import snowflake.connector
import snowflake.connector.pandas_tools
from dagster_snowflake import SnowflakeResource
from dagster_snowflake_pandas import SnowflakePandasIOManager
from dagster_snowflake_pandas import snowflake_pandas_type_handler as type_handler
from fakesnow.conn import FakeSnowflakeConnection
from pandas.testing import assert_frame_equal
from snowflake.connector import DictCursor
from snowflake.connector.cursor import SnowflakeCursor
from snowflake.connector.errors import ProgrammingError

from hn_testing import _database_copies, _fakesnow_compat
from hn_testing.plugin import STANDING_DATABASES
from hn_testing.snowflake_emulator import SnowflakeEmulator, snowflake_emulator

CLONE = "PRODUCTION_CLONE_42"

ITEMS = pd.DataFrame(
    {
        "id": pd.Series([1, 2, 3], dtype="int64"),
        "parent": pd.Series([None, 1, 1], dtype="Int64"),
        "time": pd.to_datetime(["2024-05-01 10:00:00", "2024-05-01 10:05:00", "2024-05-02 00:00:00"]),
        "type": ["story", "comment", "comment"],
        "user_id": pd.Series(["alice", None, "carol"], dtype="string"),
        "score": [10.0, None, 1.5],
    }
)
# What the I/O manager loads back: pd.read_sql over the connector's Python values, so nullable ints with a
# NULL come back float64 and strings object (None for NULL); int64, float64 and naive datetimes round-trip.
ITEMS_LOADED = pd.DataFrame(
    {
        "id": pd.Series([1, 2, 3], dtype="int64"),
        "parent": [float("nan"), 1.0, 1.0],
        "time": pd.to_datetime(["2024-05-01 10:00:00", "2024-05-01 10:05:00", "2024-05-02 00:00:00"]),
        "type": ["story", "comment", "comment"],
        "user_id": ["alice", None, "carol"],
        "score": [10.0, float("nan"), 1.5],
    }
)
OTHER = pd.DataFrame(
    {
        "id": [9],
        "parent": [3],
        "time": [pd.Timestamp("2024-06-01")],
        "type": ["job"],
        "user_id": ["dave"],
        "score": [0.5],
    }
)


def io_manager(database: str = "PRODUCTION") -> SnowflakePandasIOManager:
    return SnowflakePandasIOManager(account="emulator", user="u", password="p", database=database, schema="HACKER_NEWS")


def snowflake_resource() -> SnowflakeResource:
    return SnowflakeResource(account="emulator", user="u", password="p")


@dataclass(frozen=True)
class Runs:
    """Dagster runs through the real I/O manager, sharing one instance (creating one costs more than a run)."""

    instance: dg.DagsterInstance

    def write(self, frame: pd.DataFrame, database: str = "PRODUCTION") -> None:
        """Materialize an ``items`` asset returning ``frame``."""

        @dg.asset(name="items")
        def items() -> pd.DataFrame:
            return frame

        dg.materialize([items], resources={"io_manager": io_manager(database)}, instance=self.instance)

    def load(self, database: str = "PRODUCTION") -> pd.DataFrame:
        """Run only a downstream asset, so the I/O manager loads ``items`` from the warehouse."""
        loaded: dict[str, pd.DataFrame] = {}

        @dg.asset(name="items")
        def items() -> pd.DataFrame:
            raise AssertionError("not selected, must not run")

        @dg.asset
        def downstream(items: pd.DataFrame) -> None:
            loaded["items"] = items

        resources = {"io_manager": io_manager(database)}
        dg.materialize([items, downstream], selection=[downstream], resources=resources, instance=self.instance)
        return loaded["items"]


@pytest.fixture(scope="module")
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def runs(snowflake_emulator: SnowflakeEmulator, dagster_instance: dg.DagsterInstance) -> Runs:
    return Runs(dagster_instance)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("id").reset_index(drop=True)


def execute(sql: str, cursor_class: type[SnowflakeCursor] = SnowflakeCursor) -> list:
    """Run SQL through the real SnowflakeResource, as db_ops does."""
    with snowflake_resource().get_connection() as conn:
        return conn.cursor(cursor_class).execute(sql).fetchall()


def show_databases() -> dict[str, datetime]:
    return {row["name"]: row["created_on"] for row in execute("SHOW DATABASES", DictCursor)}


# -- the I/O manager ---------------------------------------------------------------------------------


def test_io_manager_writes_a_table_and_a_downstream_asset_reads_it(
    snowflake_emulator: SnowflakeEmulator, dagster_instance: dg.DagsterInstance
) -> None:
    loaded: dict[str, pd.DataFrame] = {}

    @dg.asset
    def items() -> pd.DataFrame:
        return ITEMS

    @dg.asset
    def downstream(items: pd.DataFrame) -> None:
        loaded["items"] = items

    result = dg.materialize([items, downstream], resources={"io_manager": io_manager()}, instance=dagster_instance)

    assert result.success
    assert snowflake_emulator.tables("PRODUCTION") == {"HACKER_NEWS.ITEMS"}
    assert_frame_equal(by_id(loaded["items"]), ITEMS_LOADED)


def test_second_write_replaces_the_rows(runs: Runs) -> None:
    runs.write(ITEMS)
    runs.write(ITEMS.iloc[[2]])

    # Without a NULL left, the nullable parent column loads as int64: dtypes follow the values read.
    expected = ITEMS_LOADED.iloc[[2]].reset_index(drop=True).astype({"parent": "int64"})
    assert_frame_equal(runs.load(), expected)


def test_dropped_column_stays_in_the_table_as_nulls(runs: Runs) -> None:
    """As on Snowflake (dagster issue 13098): the table keeps its first schema; missing columns load as NULL."""
    runs.write(ITEMS)
    runs.write(ITEMS[["id", "time", "type"]])

    expected = ITEMS_LOADED.assign(parent=None, user_id=None, score=None).astype({"parent": object, "score": object})
    assert_frame_equal(by_id(runs.load()), expected)


def test_added_column_fails_like_snowflake(runs: Runs, snowflake_emulator: SnowflakeEmulator) -> None:
    """The write fails, after the pre-write DELETE already committed (autocommit): the table is left empty."""
    runs.write(ITEMS)

    with pytest.raises(ProgrammingError, match="invalid identifier 'RANK'"):
        runs.write(ITEMS.assign(rank=1))
    assert snowflake_emulator.execute("SELECT count(*) FROM PRODUCTION.HACKER_NEWS.ITEMS") == [(0,)]


def test_empty_typed_frame_empties_an_existing_table(runs: Runs) -> None:
    runs.write(ITEMS)
    runs.write(ITEMS.iloc[0:0])

    loaded = runs.load()
    # No rows, so read_sql has no values to infer from: every column comes back object.
    assert_frame_equal(loaded, pd.DataFrame({name: pd.Series([], dtype=object) for name in ITEMS.columns}))


def test_empty_typed_frame_creates_no_table(runs: Runs, snowflake_emulator: SnowflakeEmulator) -> None:
    """The I/O manager skips writing an empty frame, so a first empty write leaves no table behind."""
    runs.write(ITEMS.iloc[0:0])

    assert snowflake_emulator.schemas("PRODUCTION") == {"HACKER_NEWS"}
    assert snowflake_emulator.tables("PRODUCTION") == set()
    with pytest.raises(pd.errors.DatabaseError, match="does not exist or not authorized"):
        runs.load()


def test_io_manager_cannot_write_to_a_database_that_was_never_created(
    runs: Runs, snowflake_emulator: SnowflakeEmulator
) -> None:
    """Connecting does not create the database (unlike plain fakesnow): a branch writing before its clone fails."""
    with pytest.raises(ProgrammingError, match="does not have a current database"):
        runs.write(ITEMS, database=CLONE)
    assert CLONE not in snowflake_emulator.databases()


# -- database lifecycle through SnowflakeResource ----------------------------------------------------


def test_clone_copies_every_schema_and_table_with_rows(runs: Runs, snowflake_emulator: SnowflakeEmulator) -> None:
    runs.write(ITEMS)
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.RAW")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.RAW.EVENTS (ID INT, NAME VARCHAR(20))")
    snowflake_emulator.execute("INSERT INTO PRODUCTION.RAW.EVENTS VALUES (1, 'a'), (2, NULL)")
    with snowflake_emulator.connect("PRODUCTION", "RAW") as conn:
        conn.cursor().execute("CREATE VIEW NAMED AS SELECT * FROM EVENTS WHERE NAME IS NOT NULL")

    status = execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")

    assert status == [(f"Database {CLONE} successfully created.",)]
    assert snowflake_emulator.tables(CLONE) == {"HACKER_NEWS.ITEMS", "RAW.EVENTS"}
    for table in ("HACKER_NEWS.ITEMS", "RAW.EVENTS"):
        assert_frame_equal(
            snowflake_emulator.read_table(f"{CLONE}.{table}"), snowflake_emulator.read_table(f"PRODUCTION.{table}")
        )
    with snowflake_emulator.connect(CLONE, "RAW") as conn:
        described = conn.cursor().execute("DESCRIBE TABLE EVENTS").fetchall()
    assert [(row[0], row[1]) for row in described] == [("ID", "NUMBER(38,0)"), ("NAME", "VARCHAR(20)")]
    snowflake_emulator.execute(f"INSERT INTO {CLONE}.RAW.EVENTS VALUES (3, 'c')")
    assert snowflake_emulator.execute(f"SELECT ID FROM {CLONE}.RAW.NAMED ORDER BY ID") == [(1,), (3,)]
    assert snowflake_emulator.execute("SELECT ID FROM PRODUCTION.RAW.NAMED") == [(1,)]


def test_clone_is_independent_of_its_source(runs: Runs, snowflake_emulator: SnowflakeEmulator) -> None:
    runs.write(ITEMS)
    execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")

    production_before = snowflake_emulator.read_table("PRODUCTION.HACKER_NEWS.ITEMS")

    runs.write(OTHER, database=CLONE)
    assert_frame_equal(snowflake_emulator.read_table("PRODUCTION.HACKER_NEWS.ITEMS"), production_before)

    runs.write(ITEMS.iloc[[0]])
    assert_frame_equal(runs.load(CLONE), OTHER)


def test_create_or_replace_clone_replaces_an_existing_clone(runs: Runs, snowflake_emulator: SnowflakeEmulator) -> None:
    runs.write(ITEMS)
    execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
    runs.write(OTHER, database=CLONE)
    execute(f"CREATE SCHEMA {CLONE}.SCRATCH")

    execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")

    assert snowflake_emulator.schemas(CLONE) == {"HACKER_NEWS"}
    assert_frame_equal(
        snowflake_emulator.read_table(f"{CLONE}.HACKER_NEWS.ITEMS"),
        snowflake_emulator.read_table("PRODUCTION.HACKER_NEWS.ITEMS"),
    )


def test_a_failed_create_or_replace_clone_leaves_the_database_as_it_was(
    snowflake_emulator: SnowflakeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create-database: "CREATE OR REPLACE <object> statements are atomic": a clone that fails replaces nothing."""
    execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
    execute(f"CREATE SCHEMA {CLONE}.KEPT")

    def out_of_space(*args: object, **kwargs: object) -> None:
        raise duckdb.IOException("IO Error: No space left on device")

    monkeypatch.setattr(_database_copies, "clone_database", out_of_space)
    with pytest.raises(duckdb.IOException, match="No space left on device"):
        execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")

    assert snowflake_emulator.schemas(CLONE) == {"KEPT"}


def test_create_existing_database_errors_unless_replace_or_if_not_exists(
    snowflake_emulator: SnowflakeEmulator,
) -> None:
    execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")

    with pytest.raises(ProgrammingError, match=f"Object '{CLONE}' already exists"):
        execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
    assert execute(f"CREATE DATABASE IF NOT EXISTS {CLONE} CLONE PRODUCTION") == [
        (f"{CLONE} already exists, statement succeeded.",)
    ]
    with pytest.raises(ProgrammingError, match="Database 'NOPE' does not exist or not authorized"):
        execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE NOPE")
    assert CLONE in snowflake_emulator.databases()


def test_create_database_becomes_the_current_database_after_committing(snowflake_emulator: SnowflakeEmulator) -> None:
    """Like Snowflake: DDL first commits the session's open transaction, and the new database becomes current."""
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INT)")

    with snowflake_emulator.connect("PRODUCTION", "HACKER_NEWS", autocommit=False) as conn:
        cursor = conn.cursor()
        cursor.execute("INSERT INTO ITEMS VALUES (1)")
        cursor.execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
        cursor.execute("CREATE SCHEMA SCRATCH")

    assert snowflake_emulator.execute(f"SELECT ID FROM {CLONE}.HACKER_NEWS.ITEMS") == [(1,)]
    assert snowflake_emulator.schemas(CLONE) == {"HACKER_NEWS", "SCRATCH"}
    assert snowflake_emulator.schemas("PRODUCTION") == {"HACKER_NEWS"}


def test_database_created_on_connect_gets_a_created_on(tmp_path: Path) -> None:
    """With fakesnow's create-on-connect turned on, databases made by connecting still report when."""
    with snowflake_emulator(tmp_path, create_database_on_connect=True) as emulator:
        before = datetime.now(UTC)
        emulator.connect("FRESH").close()
        assert before <= emulator.database_created_on("FRESH") <= datetime.now(UTC)
        assert [row[1] for row in emulator.execute("SHOW DATABASES")] == ["FRESH"]


def test_drop_database_removes_it_with_all_its_schemas_tables_and_file(
    runs: Runs,
    snowflake_emulator: SnowflakeEmulator,
) -> None:
    runs.write(ITEMS)
    execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
    assert snowflake_emulator.db_path is not None
    database_file = snowflake_emulator.db_path / f"{CLONE}.db"
    assert database_file.exists()

    assert execute(f"DROP DATABASE IF EXISTS {CLONE}") == [(f"{CLONE} successfully dropped.",)]

    assert CLONE not in snowflake_emulator.databases()
    assert CLONE not in show_databases()
    assert not database_file.exists()
    assert snowflake_emulator.tables("PRODUCTION") == {"HACKER_NEWS.ITEMS"}
    assert execute(f"DROP DATABASE IF EXISTS {CLONE}") == [
        (f"Drop statement executed successfully ({CLONE} already dropped).",)
    ]
    with pytest.raises(ProgrammingError, match=f"Database '{CLONE}' does not exist or not authorized"):
        execute(f"DROP DATABASE {CLONE}")


def test_dropping_the_current_database_leaves_the_session_usable(
    runs: Runs, snowflake_emulator: SnowflakeEmulator
) -> None:
    runs.write(ITEMS)
    execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")

    with snowflake_emulator.connect(CLONE, "HACKER_NEWS") as conn:
        cursor = conn.cursor()
        cursor.execute(f"DROP DATABASE {CLONE}")
        assert cursor.execute("SELECT count(*) FROM PRODUCTION.HACKER_NEWS.ITEMS").fetchall() == [(3,)]
        with pytest.raises(ProgrammingError, match="does not have a current database"):
            cursor.execute("SELECT count(*) FROM ITEMS")


def test_show_databases_reports_when_each_clone_was_made(snowflake_emulator: SnowflakeEmulator) -> None:
    before = datetime.now(UTC)
    execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")
    after = datetime.now(UTC)

    created = show_databases()

    assert set(created) == {*STANDING_DATABASES, CLONE}
    assert before <= created[CLONE] <= after
    assert all(created[name] <= before for name in STANDING_DATABASES)
    assert snowflake_emulator.database_created_on(CLONE) == created[CLONE]
    terse = execute("SHOW TERSE DATABASES LIKE 'production_clone_%'")
    assert [(row[0], row[1]) for row in terse] == [(created[CLONE], CLONE)]


def test_a_clone_can_be_back_dated_for_the_sweeper(snowflake_emulator: SnowflakeEmulator) -> None:
    execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
    long_ago = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

    snowflake_emulator.set_database_created_on(CLONE, long_ago)

    assert show_databases()[CLONE] == long_ago
    info_schema = execute(
        f"SELECT created FROM PRODUCTION.INFORMATION_SCHEMA.DATABASES WHERE database_name = '{CLONE}'"
    )
    assert info_schema == [(long_ago,)]
    # Naive datetimes are UTC; recreating the clone makes it new again.
    snowflake_emulator.set_database_created_on(CLONE, datetime(2024, 1, 1))
    assert show_databases()[CLONE] == datetime(2024, 1, 1, tzinfo=UTC)
    execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")
    assert show_databases()[CLONE] > datetime.now(UTC) - timedelta(minutes=1)
    with pytest.raises(KeyError):
        snowflake_emulator.set_database_created_on("NOPE", long_ago)


def test_missing_objects_use_snowflakes_wording(snowflake_emulator: SnowflakeEmulator) -> None:
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    cases = {
        "DELETE FROM PRODUCTION.HACKER_NEWS.ITEMS": "Table 'PRODUCTION.HACKER_NEWS.ITEMS'",
        "SELECT * FROM PRODUCTION.HACKER_NEWS.ITEMS": "Object 'PRODUCTION.HACKER_NEWS.ITEMS'",
        "SELECT * FROM PRODUCTION.NOPE.ITEMS": "Schema 'PRODUCTION.NOPE'",
        "DELETE FROM NOPE.HACKER_NEWS.ITEMS": "Database 'NOPE'",
    }
    for sql, name in cases.items():
        with pytest.raises(ProgrammingError, match=f"{name} does not exist or not authorized"):
            snowflake_emulator.execute(sql)


def test_connection_sees_earlier_connections_writes_and_db_path_persists(
    tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> None:
    with snowflake_emulator(tmp_path, databases=["PRODUCTION"]) as emulator:
        runs = Runs(dagster_instance)
        runs.write(ITEMS)
        written = emulator.read_table("PRODUCTION.HACKER_NEWS.ITEMS")
        execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
        emulator.set_database_created_on(CLONE, datetime(2024, 1, 1, tzinfo=UTC))
        leaked = emulator.connect("PRODUCTION")  # left open on purpose: stopping must release the files

    assert leaked.is_closed()
    with snowflake_emulator(tmp_path) as emulator:
        assert emulator.databases() == {"PRODUCTION", CLONE}
        assert emulator.database_created_on(CLONE) == datetime(2024, 1, 1, tzinfo=UTC)
        assert_frame_equal(emulator.read_table(f"{CLONE}.HACKER_NEWS.ITEMS"), written)


def test_in_memory_emulator_shares_state_between_connections(dagster_instance: dg.DagsterInstance) -> None:
    with snowflake_emulator(databases=["PRODUCTION"]) as emulator:
        runs = Runs(dagster_instance)
        assert emulator.db_path is None
        runs.write(ITEMS)
        assert_frame_equal(by_id(runs.load()), ITEMS_LOADED)


def test_fixture_starts_with_the_standing_databases_on_disk(
    snowflake_emulator: SnowflakeEmulator, tmp_path: Path
) -> None:
    assert snowflake_emulator.databases() == set(STANDING_DATABASES)
    assert snowflake_emulator.db_path == tmp_path / "snowflake"
    assert {path.stem for path in (tmp_path / "snowflake").glob("*.db")} == set(STANDING_DATABASES)
    with snowflake.connector.connect() as conn:
        assert isinstance(conn, FakeSnowflakeConnection)


class TestDatabasesFixtureOverride:
    @pytest.fixture
    def snowflake_emulator_databases(self) -> tuple[str, ...]:
        return ("ONLY_THIS",)

    def test_databases_can_be_overridden(self, snowflake_emulator: SnowflakeEmulator) -> None:
        assert snowflake_emulator.databases() == {"ONLY_THIS"}


# -- every patch is needed: the gaps of plain fakesnow -----------------------------------------------


def _delete_wording(conn: FakeSnowflakeConnection) -> None:
    with pytest.raises(ProgrammingError) as raised:
        conn.cursor().execute("DELETE FROM PRODUCTION.HACKER_NEWS.MISSING")
    assert "does not exist or not authorized" not in str(raised.value)


def _write_pandas_by_name(conn: FakeSnowflakeConnection) -> None:
    assert type_handler.write_pandas is REAL_WRITE_PANDAS


def _drop_database(conn: FakeSnowflakeConnection) -> None:
    with pytest.raises(ProgrammingError, match="syntax error"):
        conn.cursor().execute("DROP DATABASE IF EXISTS PRODUCTION")


def _clone_is_empty(conn: FakeSnowflakeConnection) -> None:
    conn.cursor().execute("CREATE TABLE ITEMS (ID INT)")
    conn.cursor().execute(f"CREATE DATABASE {CLONE} CLONE PRODUCTION")
    with pytest.raises(ProgrammingError):
        conn.cursor().execute(f"SELECT * FROM {CLONE}.HACKER_NEWS.ITEMS")


def _clone_or_replace(conn: FakeSnowflakeConnection) -> None:
    conn.cursor().execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")
    with pytest.raises(ProgrammingError):
        conn.cursor().execute(f"CREATE OR REPLACE DATABASE {CLONE} CLONE PRODUCTION")


def _show_databases(conn: FakeSnowflakeConnection) -> None:
    rows = conn.cursor(DictCursor).execute("SHOW DATABASES LIKE 'NOPE%'").fetchall()
    assert [(row["name"], row["created_on"]) for row in rows] == [("PRODUCTION", datetime(1970, 1, 1, tzinfo=UTC))]


def _information_schema_databases(conn: FakeSnowflakeConnection) -> None:
    rows = conn.cursor().execute("SELECT database_name, created FROM INFORMATION_SCHEMA.DATABASES").fetchall()
    assert rows == [("PRODUCTION", datetime(1970, 1, 1, tzinfo=UTC))]
    with pytest.raises(ProgrammingError):
        snowflake.connector.connect().cursor().execute("SELECT * FROM PRODUCTION.INFORMATION_SCHEMA.DATABASES")


def _show_schemas_like(conn: FakeSnowflakeConnection) -> None:
    assert conn.cursor().execute("SHOW SCHEMAS LIKE 'NOPE' IN DATABASE PRODUCTION").fetchall() != []


def _describe_without_current_database(conn: FakeSnowflakeConnection) -> None:
    conn.cursor().execute("CREATE TABLE ITEMS (ID INT)")
    with pytest.raises(duckdb.CatalogException):
        snowflake.connector.connect().cursor().execute("DESCRIBE TABLE PRODUCTION.HACKER_NEWS.ITEMS")


def _write_pandas_error_type(conn: FakeSnowflakeConnection) -> None:
    conn.cursor().execute("CREATE TABLE ITEMS (ID INT)")
    with pytest.raises(duckdb.BinderException):
        snowflake.connector.pandas_tools.write_pandas(conn, pd.DataFrame({"ID": [1], "RANK": [2]}), "ITEMS")


def _swap_with(conn: FakeSnowflakeConnection) -> None:
    conn.cursor().execute("CREATE TABLE ITEMS (ID INT)")
    conn.cursor().execute("CREATE TABLE ITEMS_NEW (ID INT)")
    with pytest.raises(ProgrammingError, match="syntax error"):
        conn.cursor().execute("ALTER TABLE ITEMS SWAP WITH ITEMS_NEW")


def _ddl_inside_explicit_transaction(conn: FakeSnowflakeConnection) -> None:
    cursor = conn.cursor()
    cursor.execute("BEGIN")
    cursor.execute("CREATE TABLE ITEMS (ID INT)")
    cursor.execute("ROLLBACK")
    with pytest.raises(ProgrammingError):
        cursor.execute("SELECT * FROM ITEMS")


REAL_WRITE_PANDAS = type_handler.write_pandas
FAKESNOW_GAPS: dict[str, Callable[[FakeSnowflakeConnection], None]] = {
    "missing-table-wording": _delete_wording,
    "write-pandas-imported-by-name": _write_pandas_by_name,
    "drop-database": _drop_database,
    "clone-is-empty": _clone_is_empty,
    "clone-or-replace": _clone_or_replace,
    "show-databases": _show_databases,
    "information-schema-databases": _information_schema_databases,
    "show-schemas-like": _show_schemas_like,
    "describe-without-current-database": _describe_without_current_database,
    "write-pandas-error-type": _write_pandas_error_type,
    "swap-with": _swap_with,
    "ddl-inside-explicit-transaction": _ddl_inside_explicit_transaction,
}


@pytest.fixture
def plain_fakesnow() -> Iterator[FakeSnowflakeConnection]:
    with fakesnow.patch(), snowflake.connector.connect(database="PRODUCTION", schema="HACKER_NEWS") as conn:
        yield conn


@pytest.mark.parametrize("gap", FAKESNOW_GAPS.values(), ids=FAKESNOW_GAPS.keys())
def test_fakesnow_gap(plain_fakesnow: FakeSnowflakeConnection, gap: Callable[[FakeSnowflakeConnection], None]) -> None:
    gap(plain_fakesnow)


def test_emulator_patches_write_pandas_where_the_type_handler_imported_it(
    snowflake_emulator: SnowflakeEmulator,
) -> None:
    for patched in (type_handler.write_pandas, snowflake.connector.pandas_tools.write_pandas):
        assert isinstance(patched, mock.MagicMock)
        assert patched.side_effect is _fakesnow_compat.write_pandas


def test_emulator_show_schemas_like_filters(snowflake_emulator: SnowflakeEmulator) -> None:
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")

    rows = snowflake_emulator.execute("SHOW SCHEMAS LIKE 'hacker%' IN DATABASE PRODUCTION")

    assert [row[1] for row in rows] == ["HACKER_NEWS"]
    assert snowflake_emulator.execute("SHOW SCHEMAS LIKE 'NOPE' IN DATABASE PRODUCTION") == []


def test_emulator_describes_a_qualified_table_without_a_current_database(
    snowflake_emulator: SnowflakeEmulator,
) -> None:
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INT)")

    described = snowflake_emulator.execute("DESCRIBE TABLE PRODUCTION.HACKER_NEWS.ITEMS")

    assert [(row[0], row[1]) for row in described] == [("ID", "NUMBER(38,0)")]


def test_emulator_swaps_two_tables_content_and_columns(snowflake_emulator: SnowflakeEmulator) -> None:
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INT)")
    snowflake_emulator.execute("INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS VALUES (1)")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS_NEW (ID INT, TITLE VARCHAR(20))")
    snowflake_emulator.execute("INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS_NEW VALUES (2, 'new')")

    status = snowflake_emulator.execute(
        "ALTER TABLE PRODUCTION.HACKER_NEWS.ITEMS SWAP WITH PRODUCTION.HACKER_NEWS.ITEMS_NEW"
    )

    assert status == [("Statement executed successfully.",)]
    assert snowflake_emulator.execute("SELECT * FROM PRODUCTION.HACKER_NEWS.ITEMS") == [(2, "new")]
    assert snowflake_emulator.execute("SELECT * FROM PRODUCTION.HACKER_NEWS.ITEMS_NEW") == [(1,)]
    described = snowflake_emulator.execute("DESCRIBE TABLE PRODUCTION.HACKER_NEWS.ITEMS")
    assert [(row[0], row[1]) for row in described] == [("ID", "NUMBER(38,0)"), ("TITLE", "VARCHAR(20)")]


def test_emulator_swap_with_a_missing_table_fails_like_snowflake(snowflake_emulator: SnowflakeEmulator) -> None:
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INT)")

    with pytest.raises(
        ProgrammingError, match=r"Table 'PRODUCTION\.HACKER_NEWS\.NOPE' does not exist or not authorized"
    ):
        snowflake_emulator.execute("ALTER TABLE PRODUCTION.HACKER_NEWS.ITEMS SWAP WITH PRODUCTION.HACKER_NEWS.NOPE")
    assert snowflake_emulator.tables("PRODUCTION") == {"HACKER_NEWS.ITEMS"}


def test_emulator_refuses_to_move_a_table_to_another_schema(snowflake_emulator: SnowflakeEmulator) -> None:
    """DuckDB would keep the table where it is under its new name; Snowflake moves it (alter-table, RENAME TO)."""
    for sql in ("CREATE SCHEMA PRODUCTION.A", "CREATE SCHEMA PRODUCTION.B", "CREATE TABLE PRODUCTION.A.T (ID INT)"):
        snowflake_emulator.execute(sql)

    with pytest.raises(ProgrammingError, match=r"renames a table within its own schema only .* not implemented"):
        snowflake_emulator.execute("ALTER TABLE PRODUCTION.A.T RENAME TO PRODUCTION.B.T")
    snowflake_emulator.execute("ALTER TABLE PRODUCTION.A.T RENAME TO PRODUCTION.A.U")
    assert snowflake_emulator.tables("PRODUCTION") == {"A.U"}


@pytest.mark.parametrize("autocommit", [True, False])
def test_emulator_ddl_commits_an_explicit_transaction_as_snowflake_does(
    snowflake_emulator: SnowflakeEmulator, autocommit: bool
) -> None:
    """https://docs.snowflake.com/en/sql-reference/transactions#ddl: DDL commits the open transaction first.

    After it, a DML statement runs in its own transaction with autocommit on (so the ROLLBACK finds nothing to
    undo), and opens a new one with autocommit off (which the ROLLBACK undoes).
    """
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INT)")
    with snowflake_emulator.connect(autocommit=autocommit) as conn:
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS VALUES (1)")
        cursor.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.OTHER (ID INT)")
        cursor.execute("INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS VALUES (2)")
        cursor.execute("ROLLBACK")

    kept = [(1,), (2,)] if autocommit else [(1,)]
    assert snowflake_emulator.execute("SELECT * FROM PRODUCTION.HACKER_NEWS.ITEMS ORDER BY ID") == kept
    assert snowflake_emulator.tables("PRODUCTION") == {"HACKER_NEWS.ITEMS", "HACKER_NEWS.OTHER"}

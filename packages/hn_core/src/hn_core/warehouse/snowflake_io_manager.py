"""The Snowflake warehouse I/O manager: Dagster's pandas I/O manager, made atomic and strictly typed.

The stock I/O manager runs ``DELETE`` and then ``write_pandas``, each committing on its own, so a failed upload or a
killed run leaves the table empty. A transaction cannot span the whole write either: ``write_pandas`` creates a
stage, and Snowflake commits any open transaction before a DDL statement
(https://docs.snowflake.com/en/sql-reference/transactions#ddl). So every write first loads a staging table of its
own, created with the declared column types (``hn_core.warehouse.columns``), and only then touches the target:

- a whole table is replaced by one statement, ``ALTER TABLE <target> SWAP WITH <staging>`` (or
  ``ALTER TABLE <staging> RENAME TO <target>`` the first time), which also carries a change of columns. Grants made
  on the old table go with it (SWAP exchanges grants too): give readers other than the owner ``FUTURE`` grants on
  the schema, so every new table has them;
- a partition is replaced by ``DELETE`` of its window and ``INSERT ... SELECT`` from the staging table, in one
  transaction (``BEGIN`` ... ``COMMIT``) that holds no DDL. A partitioned table's columns cannot change from one
  partition's write: a mismatch is refused before anything is written.

An output that is a ``TableWithLedger`` loads two staging tables, then replaces its partitions in the table and in
the ledger beside it in that one transaction.

Either way the target holds the previous rows or the new ones, never anything in between, and the staging table is
dropped afterwards. A process killed mid-write leaves at most its staging table (``<TABLE>__LOAD_<run>``), or for a
partition an open transaction that Snowflake rolls back when it aborts the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice  # as the integrations do
from dagster_snowflake.snowflake_io_manager import SnowflakeDbClient, partition_where_clause
from dagster_snowflake_pandas import SnowflakePandasIOManager, SnowflakePandasTypeHandler
from snowflake.connector import pandas_tools
from snowflake.connector.errors import ProgrammingError

from hn_core.warehouse.columns import Dialect, PartitionedTableMismatchError, TableColumns, quote
from hn_core.warehouse.ledger import TableWithLedgerTypeHandler, WarehouseDbIOManager, written_metadata


@dataclass(frozen=True)
class SnowflakeTable:
    """A fully qualified table, named as Snowflake's unquoted (upper-case) identifiers are."""

    database: str
    schema: str
    table: str

    @classmethod
    def of(cls, table_slice: TableSlice) -> SnowflakeTable:
        assert table_slice.database, "the Snowflake I/O manager always has a database"
        return cls(table_slice.database.upper(), table_slice.schema.upper(), table_slice.table.upper())

    def staging(self, run_id: str) -> SnowflakeTable:
        """The table a run loads before swapping it in: its own, so concurrent writers never share one."""
        return SnowflakeTable(self.database, self.schema, f"{self.table}__LOAD_{run_id[:8].upper()}")

    def __str__(self) -> str:
        return ".".join(quote(part) for part in (self.database, self.schema, self.table))


def described_columns(cursor: Any, table: SnowflakeTable) -> list[tuple[str, str]] | None:
    """``[(name, type), ...]`` of ``table`` from ``DESCRIBE TABLE``, or ``None`` if it does not exist."""
    try:
        rows = cursor.execute(f"DESCRIBE TABLE {table}").fetchall()
    except ProgrammingError as error:
        if "does not exist or not authorized" in str(error):
            return None
        raise
    return [(row[0], row[1]) for row in rows]


class AtomicSnowflakeDbClient(SnowflakeDbClient):
    """``SnowflakeDbClient`` whose pre-write delete is left to the type handler's atomic replacement."""

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection: Any) -> None:
        """Nothing here: ``AtomicSnowflakePandasTypeHandler`` replaces the rows atomically."""

    @staticmethod
    def get_table_name(table_slice: TableSlice) -> str:
        """``DATABASE.SCHEMA.TABLE`` as Snowflake names the table: its unquoted identifiers, in upper case."""
        table = SnowflakeTable.of(table_slice)
        return f"{table.database}.{table.schema}.{table.table}"


class AtomicSnowflakePandasTypeHandler(SnowflakePandasTypeHandler):
    """Loads a staging table, then swaps it in (a table) or replaces a window in one transaction (a partition)."""

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection: Any
    ) -> Mapping[str, Any]:
        replace_slices(context, connection, [(table_slice, obj)])
        return written_metadata(table_slice, obj, "snowflake")


@dataclass(frozen=True)
class StagedWrite:
    """One table's part of a write: where it goes, its declared columns, and the staging table holding its rows."""

    table_slice: TableSlice
    target: SnowflakeTable
    staging: SnowflakeTable
    columns: TableColumns
    exists: bool

    @property
    def partitioned(self) -> bool:
        return bool(self.table_slice.partition_dimensions)


def replace_slices(context: OutputContext, connection: Any, slices: Sequence[tuple[TableSlice, pd.DataFrame]]) -> None:
    """Load every frame into a staging table, then replace the targets: partitions of any number of tables in one
    transaction, or one whole table by a swap (a swap is DDL, so it cannot share a transaction)."""
    cursor = connection.cursor()
    writes = [plan_write(cursor, context.run_id, table_slice, frame) for table_slice, frame in slices]
    if len(writes) > 1 and not all(write.partitioned for write in writes):
        raise TypeError("Only partitions of several tables can be replaced together; whole tables are swapped alone.")
    try:
        for write, (_, frame) in zip(writes, slices, strict=True):
            cursor.execute(f"CREATE OR REPLACE TABLE {write.staging} {write.columns.definition()}")
            if len(frame):
                # Through the module, so that a patched write_pandas (the test emulator's) is the one called.
                pandas_tools.write_pandas(
                    conn=connection,
                    df=frame.rename(columns=str.upper),
                    table_name=write.staging.table,
                    schema=write.staging.schema,
                    database=write.staging.database,
                    auto_create_table=False,
                    use_logical_type=True,
                    quote_identifiers=True,
                )
        if not writes[0].partitioned:
            swap_in(cursor, writes[0].staging, writes[0].target, exists=writes[0].exists)
        else:
            for write in writes:
                if not write.exists:
                    cursor.execute(f"CREATE TABLE IF NOT EXISTS {write.target} {write.columns.definition()}")
            replace_windows(cursor, writes)
    finally:
        for write in writes:
            cleanup(context, cursor, f"DROP TABLE IF EXISTS {write.staging}")


def plan_write(cursor: Any, run_id: str, table_slice: TableSlice, frame: pd.DataFrame) -> StagedWrite:
    """Where ``frame`` goes; a partitioned table whose columns differ from the frame's is refused before any load."""
    columns = TableColumns.of(frame, Dialect.SNOWFLAKE, upper_case=True)
    target = SnowflakeTable.of(table_slice)
    existing = described_columns(cursor, target)
    if table_slice.partition_dimensions and existing is not None and not columns.matches(existing):
        raise PartitionedTableMismatchError(str(target), existing, columns)
    return StagedWrite(table_slice, target, target.staging(run_id), columns, exists=existing is not None)


def swap_in(cursor: Any, staging: SnowflakeTable, target: SnowflakeTable, *, exists: bool) -> None:
    """Make ``staging`` the ``target`` in one statement; the old rows end up in ``staging``."""
    if exists:
        cursor.execute(f"ALTER TABLE {target} SWAP WITH {staging}")
    else:
        cursor.execute(f"ALTER TABLE {staging} RENAME TO {target}")


def replace_windows(cursor: Any, writes: Sequence[StagedWrite]) -> None:
    """Replace the partition window of every target with the rows of its staging table, in one DML-only transaction."""
    cursor.execute("BEGIN")
    try:
        for write in writes:
            names = write.columns.quoted_names()
            where = partition_where_clause(write.table_slice.partition_dimensions)
            cursor.execute(f"DELETE FROM {write.target} WHERE {where}")
            cursor.execute(f"INSERT INTO {write.target} ({names}) SELECT {names} FROM {write.staging}")
        cursor.execute("COMMIT")
    except BaseException:
        cleanup(None, cursor, "ROLLBACK")
        raise


def cleanup(context: OutputContext | None, cursor: Any, statement: str) -> None:
    """Run a cleanup statement without letting its failure hide the write's own outcome.

    After a failed write the connection may be broken too: the write's error is the one to report, and a staging
    table left behind (``<TABLE>__LOAD_<run>``) or a transaction Snowflake aborts with the session costs no data.
    """
    try:
        cursor.execute(statement)
    except Exception as error:
        if context is not None:
            context.log.warning(f"Could not clean up after the write ({statement}): {error}")


class WarehouseSnowflakeIOManager(SnowflakePandasIOManager):
    """`SnowflakePandasIOManager` whose writes are atomic and whose tables have declared column types."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [
            AtomicSnowflakePandasTypeHandler(),
            TableWithLedgerTypeHandler(replace_slices, AtomicSnowflakePandasTypeHandler(), "snowflake"),
        ]

    def create_io_manager(self, context: Any) -> DbIOManager:
        return WarehouseDbIOManager(
            db_client=AtomicSnowflakeDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=pd.DataFrame,
            io_manager_name="WarehouseSnowflakeIOManager",
        )

"""The local warehouse I/O manager: Dagster's DuckDB pandas I/O manager, made atomic and strictly typed.

The stock I/O manager deletes the old rows and then inserts the new ones, each statement committing on its own, so a
write that fails (a value DuckDB cannot store) or a process killed in between leaves an empty table behind. Here
the whole replacement is one DuckDB transaction: the table (or, for a partitioned asset, its partition) holds either
the previous rows or the new ones, never anything in between. Every table is created with the SQL types the frame's
dtypes declare (``hn_core.warehouse.columns``), never with types inferred from the rows.

An output that is a ``TableWithLedger`` replaces its partitions in the table and in the ledger beside it in that one
transaction.

Opening the file fails fast with a message that says what to do: a path that cannot be a DuckDB file, or a file
another process holds (DuckDB allows one writing process per file), named with that process's PID and command.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice  # as the integrations do
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler

from hn_core.warehouse.columns import Dialect, PartitionedTableMismatchError, TableColumns, quote
from hn_core.warehouse.ledger import (
    TableWithLedgerTypeHandler,
    WarehouseDbIOManager,
    warehouse_slice,
    written_metadata,
)

#: How long to wait for a lock held by another process before giving up. Long enough for a sibling step of the
#: same run (multiprocess executor) to finish its write, short enough to be "at once" for a person.
LOCK_WAIT_SECONDS = 5.0
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


class WarehouseUnavailableError(RuntimeError):
    """The DuckDB warehouse file cannot be opened; the message says why and what to do."""


def _holder(message: str) -> str:
    """``PID 123 (dagster dev ...)`` from DuckDB's lock error, with the holder's command line where readable."""
    match = _LOCK_HOLDER.search(message)
    if not match:
        return "another process"
    pid = match["pid"]
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        command = match["program"]
    return f"PID {pid} ({command})"


def open_warehouse(path: str, config: Mapping[str, Any], *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, waiting at most ``LOCK_WAIT_SECONDS`` for another process's lock."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=dict(config))
        except duckdb.IOException as error:
            message = str(error)
            if "Could not set lock" not in message:
                raise WarehouseUnavailableError(
                    f"Cannot open the local warehouse {path!r}: {message.splitlines()[0]} "
                    "Set HN_DUCKDB_PATH to a file in an existing folder."
                ) from error
            if time.monotonic() >= deadline:
                raise WarehouseUnavailableError(
                    f"The local warehouse {path!r} is locked by {_holder(message)}: DuckDB lets one process write "
                    "a file at a time. Stop that process (a `dagster dev`, a notebook or a DuckDB shell holding "
                    "the file), or point HN_DUCKDB_PATH at another file."
                ) from error
            time.sleep(0.1)


class AtomicDuckDbClient(DuckDbClient):
    """``DuckDbClient`` whose pre-write delete happens inside the type handler's transaction, not before it."""

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection: Any) -> None:
        """Nothing here: ``AtomicDuckDBPandasTypeHandler`` deletes and writes in one transaction."""

    @staticmethod
    def get_table_name(table_slice: TableSlice) -> str:
        """``SCHEMA.TABLE``, as any connection to the file resolves it: the file's path is where the warehouse is
        kept, not part of the table's name."""
        named = warehouse_slice(table_slice)
        return f"{named.schema}.{named.table}"

    @staticmethod
    @contextmanager
    def connect(context: Any, table_slice: TableSlice) -> Iterator[duckdb.DuckDBPyConnection]:
        config = {"custom_user_agent": "dagster", **context.resource_config["connection_config"]}
        connection = open_warehouse(context.resource_config["database"], config)
        try:
            yield connection
        finally:
            connection.close()


class AtomicDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    """Replaces a table, or a partition of it, in one transaction; reads like the stock handler."""

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection: duckdb.DuckDBPyConnection
    ) -> Mapping[str, Any]:
        replace_slices(context, connection, [(table_slice, obj)])
        return written_metadata(table_slice, obj, "duckdb")


def replace_slices(
    context: OutputContext, connection: duckdb.DuckDBPyConnection, slices: Sequence[tuple[TableSlice, pd.DataFrame]]
) -> None:
    """Replace each table (or its partitions) with its frame, all in one transaction: all of them, or none."""
    connection.begin()
    try:
        for table_slice, frame in slices:
            columns = TableColumns.of(frame, Dialect.DUCKDB)
            table = f"{quote(table_slice.schema)}.{quote(table_slice.table)}"
            if table_slice.partition_dimensions:
                connection.execute(f"CREATE TABLE IF NOT EXISTS {table} {columns.definition()}")
                _reconcile_partitioned_table(connection, table_slice, columns)
                DuckDbClient.delete_table_slice(context, table_slice, connection)  # the stock DELETE ... WHERE
            else:
                connection.execute(f"CREATE OR REPLACE TABLE {table} {columns.definition()}")
            if len(frame):
                connection.register("dagster_output", frame)
                names = columns.quoted_names()
                connection.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM dagster_output")
                connection.unregister("dagster_output")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise


def _described_columns(connection: duckdb.DuckDBPyConnection, table_slice: TableSlice) -> list[tuple[str, str]]:
    return connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE lower(table_schema) = lower(?) AND lower(table_name) = lower(?) ORDER BY ordinal_position",
        [table_slice.schema, table_slice.table],
    ).fetchall()


def _reconcile_partitioned_table(
    connection: duckdb.DuckDBPyConnection, table_slice: TableSlice, columns: TableColumns
) -> None:
    """Repair columns an older version left typed ``"NULL"``; refuse any other difference with the output."""
    declared = dict(columns.types)
    for name, data_type in _described_columns(connection, table_slice):
        if data_type == '"NULL"' and name in declared:
            connection.execute(
                f"ALTER TABLE {quote(table_slice.schema)}.{quote(table_slice.table)} "
                f"ALTER COLUMN {quote(name)} TYPE {declared[name]}"
            )
    described = _described_columns(connection, table_slice)
    if not columns.matches(described):
        raise PartitionedTableMismatchError(f"{table_slice.schema}.{table_slice.table}", described, columns)


class WarehouseDuckDBIOManager(DuckDBPandasIOManager):
    """`DuckDBPandasIOManager` whose writes are atomic and whose tables have declared column types."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [
            AtomicDuckDBPandasTypeHandler(),
            TableWithLedgerTypeHandler(replace_slices, AtomicDuckDBPandasTypeHandler(), "duckdb"),
        ]

    def create_io_manager(self, context: Any) -> DbIOManager:
        return WarehouseDbIOManager(
            db_client=AtomicDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=pd.DataFrame,
            io_manager_name="WarehouseDuckDBIOManager",
        )

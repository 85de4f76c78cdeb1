"""An output written as two tables in one transaction: a partitioned table, and a ledger of its partitions beside it.

Some facts about a partition are not rows of the table: an hour of the history with no item still has an id window,
which the next hour's run must find stored. Kept in a table of their own, written by the same transaction as the
partition's rows, they can never disagree with what is stored, whatever fails or is killed in between. Both warehouse
I/O managers write a ``TableWithLedger`` this way; reading the asset back gives its rows, as for any other table.
Both report what they wrote the same way too (``written_metadata``, ``WarehouseDbIOManager``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dagster import DagsterInvariantViolationError, OutputContext
from dagster._core.definitions.metadata import TableMetadataSet
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice  # as the integrations do

#: How a warehouse replaces tables (or their partitions) with frames, all in one transaction.
ReplaceSlices = Callable[[OutputContext, Any, Sequence[tuple[TableSlice, pd.DataFrame]]], None]


@dataclass(frozen=True)
class TableWithLedger:
    """``rows`` of the asset's table, and ``ledger``: one row per partition written, stored in ``ledger_table``.

    Both frames carry the partition column (``partition_expr``), so each partition is replaced in both tables.
    """

    rows: pd.DataFrame
    ledger: pd.DataFrame
    ledger_table: str

    def slices(self, table_slice: TableSlice) -> list[tuple[TableSlice, pd.DataFrame]]:
        """The asset's slice with its rows, then the same partitions of the ledger with its rows."""
        if not table_slice.partition_dimensions:
            raise TypeError("A TableWithLedger is written by partition: give the asset a partitions_def.")
        ledger_slice = TableSlice(
            table=self.ledger_table,
            schema=table_slice.schema,
            database=table_slice.database,
            columns=None,
            partition_dimensions=table_slice.partition_dimensions,
        )
        return [(table_slice, self.rows), (ledger_slice, self.ledger)]


class TableWithLedgerTypeHandler(DbTypeHandler[TableWithLedger]):
    """Replaces the partitions of a table and of its ledger in one transaction (``replace``, the warehouse's own);
    reads back the table's rows with ``rows_handler``, the warehouse's frame handler."""

    def __init__(self, replace: ReplaceSlices, rows_handler: DbTypeHandler[pd.DataFrame], storage_kind: str) -> None:
        self._replace, self._rows_handler, self._storage_kind = replace, rows_handler, storage_kind

    @property
    def supported_types(self) -> Sequence[type]:
        return [TableWithLedger]

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: TableWithLedger, connection: Any
    ) -> Mapping[str, Any]:
        self._replace(context, connection, obj.slices(table_slice))
        return written_metadata(table_slice, obj.rows, self._storage_kind)

    def load_input(self, context: Any, table_slice: TableSlice, connection: Any) -> Any:
        return self._rows_handler.load_input(context, table_slice, connection)


def written_metadata(table_slice: TableSlice, frame: pd.DataFrame, storage_kind: str) -> dict[str, Any]:
    """The rows written: of the partitions written (one or a range of them), or of the whole table."""
    if table_slice.partition_dimensions:
        return dict(TableMetadataSet(partition_row_count=len(frame), storage_kind=storage_kind))
    return dict(TableMetadataSet(row_count=len(frame), storage_kind=storage_kind))


def warehouse_slice(table_slice: TableSlice) -> TableSlice:
    """``table_slice`` named as the warehouse resolves unquoted names: upper case (Snowflake folds them to upper case,
    DuckDB matches names whatever their case), so ``items`` in schema ``HACKER_NEWS`` is ``HACKER_NEWS.ITEMS``."""
    return table_slice._replace(
        database=table_slice.database.upper() if table_slice.database else None,
        schema=table_slice.schema.upper(),
        table=table_slice.table.upper(),
    )


class WarehouseDbIOManager(DbIOManager):
    """``DbIOManager`` that writes the same way and reports the table under snake_case keys only.

    Dagster's own adds ``Query`` beside its ``dagster/*`` and the assets' snake_case keys; here the statement that
    reads back what was written is ``query``, and ``dagster/table_name`` is the client's ``get_table_name``. Both
    name the table as the warehouse does (``warehouse_slice``), never with the DuckDB file's path.
    """

    def handle_output(self, context: OutputContext, obj: object) -> None:
        # The steps of DbIOManager.handle_output, with its metadata under these keys.
        if obj is None:
            raise DagsterInvariantViolationError(
                "Unexpected 'None' output value. If a 'None' value is intentional, set the output type to None by "
                "adding return type annotation '-> None'."
            )
        self._check_supported_type(type(obj))
        table_slice = self._get_table_slice(context, context)
        with self._db_client.connect(context, table_slice) as connection:
            self._db_client.ensure_schema_exists(context, table_slice, connection)
            self._db_client.delete_table_slice(context, table_slice, connection)
            written = self._resolve_handler(type(obj)).handle_output(context, table_slice, obj, connection)
        named = warehouse_slice(table_slice)
        context.add_output_metadata(
            {
                **(written or {}),
                "query": self._db_client.get_select_statement(named),
                **dict(TableMetadataSet(table_name=self._db_client.get_table_name(named))),
            }
        )

"""The local warehouse I/O manager: Dagster's DuckDB pandas I/O manager, keeping empty outputs as empty tables.

The stock type handler skips an empty DataFrame, so a first run whose split is empty (a small N with no story)
leaves no table and every later load of it fails. By then the I/O manager has already deleted the old rows, so
an empty table with the frame's columns is exactly what the output says.
"""

from collections.abc import Sequence

from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice  # as the pandas integrations do
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler


class EmptyTableDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    """Writes like the stock handler, but an empty frame creates its table (typed, no rows) if it is missing."""

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj, connection) -> None:
        if not obj.empty:
            return super().handle_output(context, table_slice, obj, connection)
        connection.register("empty_output", obj)
        connection.execute(
            f"create table if not exists {table_slice.schema}.{table_slice.table} as select * from empty_output"
        )
        connection.unregister("empty_output")
        return None


class WarehouseDuckDBIOManager(DuckDBPandasIOManager):
    """``DuckDBPandasIOManager`` whose empty outputs are empty tables rather than missing ones."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [EmptyTableDuckDBPandasTypeHandler()]

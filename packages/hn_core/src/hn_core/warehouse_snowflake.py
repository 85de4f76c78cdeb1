"""The Snowflake warehouse I/O manager: Dagster's pandas I/O manager, keeping empty outputs as empty tables.

The stock type handler skips an empty DataFrame, so a first run whose split is empty leaves no table and every
later load of it fails. ``write_pandas`` cannot create a table from no rows, so the table is created from the
frame's dtypes, with the upper-case quoted column names ``write_pandas`` would have used.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice  # as the pandas integrations do
from dagster_snowflake_pandas import SnowflakePandasIOManager, SnowflakePandasTypeHandler


def snowflake_type(dtype: Any) -> str:
    """The Snowflake column type ``write_pandas`` would infer for a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "NUMBER(38,0)"
    if pd.api.types.is_float_dtype(dtype):
        return "FLOAT"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "TIMESTAMP_TZ"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "TIMESTAMP_NTZ"
    return "VARCHAR"


def create_empty_table_statement(table_slice: TableSlice, frame: pd.DataFrame) -> str:
    columns = ", ".join(f'"{str(name).upper()}" {snowflake_type(dtype)}' for name, dtype in frame.dtypes.items())
    database = f"{table_slice.database.upper()}." if table_slice.database else ""
    return f"CREATE TABLE IF NOT EXISTS {database}{table_slice.schema.upper()}.{table_slice.table.upper()} ({columns})"


class EmptyTableSnowflakePandasTypeHandler(SnowflakePandasTypeHandler):
    """Writes like the stock handler, but an empty frame creates its table (typed, no rows) if it is missing."""

    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ) -> Mapping[str, Any]:
        if not obj.empty:
            return super().handle_output(context, table_slice, obj, connection)
        connection.cursor().execute(create_empty_table_statement(table_slice, obj))
        return {}


class WarehouseSnowflakeIOManager(SnowflakePandasIOManager):
    """``SnowflakePandasIOManager`` whose empty outputs are empty tables rather than missing ones."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [EmptyTableSnowflakePandasTypeHandler()]

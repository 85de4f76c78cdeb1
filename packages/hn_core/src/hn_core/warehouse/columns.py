"""Declared SQL column types for a frame, so that no warehouse table ever gets a type guessed from its values.

Letting the warehouse infer a table from the rows breaks as soon as a column holds only nulls: DuckDB types it
``"NULL"`` and every later write of real values fails to cast. Here the SQL type of every column comes from the
frame's declared pandas dtype alone, the same with one row, a million or none. A column whose dtype declares
nothing (``object``) is refused, naming the column, rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class Dialect(StrEnum):
    DUCKDB = "duckdb"
    SNOWFLAKE = "snowflake"


_SQL_TYPES: Mapping[str, Mapping[Dialect, str]] = {
    "boolean": {Dialect.DUCKDB: "BOOLEAN", Dialect.SNOWFLAKE: "BOOLEAN"},
    "integer": {Dialect.DUCKDB: "BIGINT", Dialect.SNOWFLAKE: "NUMBER(38,0)"},
    "float": {Dialect.DUCKDB: "DOUBLE", Dialect.SNOWFLAKE: "FLOAT"},
    "string": {Dialect.DUCKDB: "VARCHAR", Dialect.SNOWFLAKE: "VARCHAR"},
    "timestamp": {Dialect.DUCKDB: "TIMESTAMP", Dialect.SNOWFLAKE: "TIMESTAMP_NTZ(9)"},
    "timestamp_tz": {Dialect.DUCKDB: "TIMESTAMPTZ", Dialect.SNOWFLAKE: "TIMESTAMP_TZ(9)"},
}

#: Lengths and precisions the warehouses add when they describe a declared type (``VARCHAR(16777216)``).
_TYPE_DETAILS = re.compile(r"\(.*\)$")


class UndeclaredColumnTypeError(TypeError):
    """A frame column whose dtype does not say what SQL type it is."""


class PartitionedTableMismatchError(RuntimeError):
    """A partitioned table's columns differ from the output's: one partition's write cannot change the table."""

    def __init__(self, table: str, described: list[tuple[str, str]], columns: TableColumns) -> None:
        super().__init__(
            f"Table {table} has columns {described}, but the output has {list(columns.types)}. A partition's write "
            "cannot change a partitioned table: migrate the table (or drop it and backfill every partition)."
        )


def _kind(column: str, dtype: object) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamp_tz"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    raise UndeclaredColumnTypeError(
        f"Column {column!r} has dtype {dtype}, which does not declare a SQL type. Give it a declared dtype "
        "(e.g. 'string', 'Int64', 'float64', 'boolean', 'datetime64[ns]') before it is stored."
    )


@dataclass(frozen=True)
class TableColumns:
    """A table's columns in order, each with the SQL type its pandas dtype declares in one dialect."""

    dialect: Dialect
    types: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, frame: pd.DataFrame, dialect: Dialect, *, upper_case: bool = False) -> TableColumns:
        """The declared columns of ``frame``; ``upper_case`` names them as Snowflake's unquoted identifiers do."""
        types = []
        for name, dtype in frame.dtypes.items():
            column = str(name).upper() if upper_case else str(name)
            types.append((column, _SQL_TYPES[_kind(str(name), dtype)][dialect]))
        return cls(dialect, tuple(types))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.types)

    def definition(self) -> str:
        """The column list of a ``CREATE TABLE``: ``("id" BIGINT, "text" VARCHAR, ...)``."""
        return "(" + ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in self.types) + ")"

    def quoted_names(self) -> str:
        return ", ".join(quote(name) for name in self.names)

    def matches(self, described: list[tuple[str, str]]) -> bool:
        """Whether a table described as ``[(name, type), ...]`` has exactly these columns and types."""
        return [(name, base_type(kind)) for name, kind in described] == [
            (name, base_type(kind)) for name, kind in self.types
        ]


def base_type(sql_type: str) -> str:
    """A type without the length or precision a warehouse reports (``VARCHAR(16777216)`` is ``VARCHAR``).

    ``NUMBER(38,0)`` keeps its scale: a ``NUMBER(38,2)`` column is not an integer column.
    """
    upper = sql_type.strip().upper()
    if upper.startswith(("NUMBER", "DECIMAL")):
        return upper.replace(" ", "")
    return _TYPE_DETAILS.sub("", upper)


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier, so a name is never pasted into SQL unescaped."""
    return '"' + identifier.replace('"', '""') + '"'

"""Read-only SQL on the warehouse, for checks that must see what is stored, across partitions.

An I/O manager loads one asset, or one partition of it: enough for a check on a partition's own rows, not for one
that asks whether an id of this hour is also stored under another hour. ``WarehouseQuery`` runs such a query where
the I/O manager writes, with the same credentials: the local DuckDB file, or the environment's Snowflake database
through ``SnowflakeResource``. Queries name tables and columns through ``table`` and ``column``, which quote them the
way the I/O managers created them (DuckDB keeps the names of the frame, Snowflake upper-cases them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from hn_core.deployment.environment import Store, Target
from hn_core.warehouse.columns import quote

Row = tuple[Any, ...]


class WarehouseQuery(ConfigurableResource, ABC):
    """Runs one read-only query on the warehouse and returns its rows."""

    schema_name: str

    @abstractmethod
    def rows(self, sql: str) -> list[Row]:
        """Every row ``sql`` returns, as tuples of Python values."""

    @abstractmethod
    def stored_name(self, name: str) -> str:
        """``name`` as the I/O manager created the table or column."""

    def column(self, name: str) -> str:
        """``name`` quoted as the I/O manager created the column."""
        return quote(self.stored_name(name))

    def table(self, name: str) -> str:
        """The schema-qualified, quoted name of the table the I/O manager stores asset ``name`` in."""
        return f"{quote(self.schema_name)}.{self.column(name)}"

    def has_table(self, name: str) -> bool:
        """Whether the I/O manager has created the table of asset ``name`` yet."""
        found = self.rows(
            "SELECT COUNT(*) FROM information_schema.tables "
            f"WHERE table_schema = {literal(self.schema_name)} AND table_name = {literal(self.stored_name(name))}"
        )
        return found[0][0] > 0


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class DuckDBWarehouseQuery(WarehouseQuery):
    """Queries the local DuckDB file, waiting briefly for another process's lock like the I/O manager does."""

    database: str

    def rows(self, sql: str) -> list[Row]:
        from hn_core.warehouse.duckdb_io_manager import open_warehouse

        with closing(open_warehouse(self.database, {}, read_only=True)) as connection:
            return connection.execute(sql).fetchall()

    def stored_name(self, name: str) -> str:
        return name

    def has_table(self, name: str) -> bool:
        return Path(self.database).exists() and super().has_table(name)


def build_warehouse_query(target: Target, env: Mapping[str, str]) -> WarehouseQuery:
    """The query resource of ``target``: DuckDB locally, Snowflake elsewhere (imported only where it is used)."""
    if target.store is Store.DUCKDB:
        return DuckDBWarehouseQuery(database=target.duckdb_path, schema_name=target.schema)
    from hn_core.deployment.resources import build_snowflake_resource
    from hn_core.warehouse.query_snowflake import SnowflakeWarehouseQuery

    return SnowflakeWarehouseQuery(snowflake=build_snowflake_resource(target, env), schema_name=target.schema.upper())

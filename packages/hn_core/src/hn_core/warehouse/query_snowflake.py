"""``WarehouseQuery`` on Snowflake, in a module of its own so that the local environment never imports Snowflake."""

from __future__ import annotations

from dagster_snowflake import SnowflakeResource

from hn_core.warehouse.query import Row, WarehouseQuery


class SnowflakeWarehouseQuery(WarehouseQuery):
    """Queries the environment's database with the environment's `SnowflakeResource` (same role, same grants)."""

    snowflake: SnowflakeResource

    def rows(self, sql: str) -> list[Row]:
        with self.snowflake.get_connection() as connection:
            cursor = connection.cursor()
            try:
                return [tuple(row) for row in cursor.execute(sql).fetchall()]
            finally:
                cursor.close()

    def stored_name(self, name: str) -> str:
        return name.upper()  # the I/O manager creates tables and columns as unquoted identifiers name them

"""The warehouse: DuckDB locally, Snowflake elsewhere, written atomically with declared column types.

- ``WarehouseDuckDBIOManager``: the local I/O manager (``duckdb_io_manager``)
- ``WarehouseSnowflakeIOManager``: the Snowflake I/O manager (``snowflake_io_manager``)
- ``TableWithLedger``: a partitioned output and the ledger of its partitions, written together (``ledger``)
- ``TableColumns``, ``UndeclaredColumnTypeError``: SQL column types from a frame's dtypes (``columns``)
- ``WarehouseQuery``, ``DuckDBWarehouseQuery``, ``build_warehouse_query``: read-only SQL where the I/O manager
  writes (``query``; Snowflake's in ``query_snowflake``)
- ``CloneRecord``, ``read_clone_record``: what a pull request's clone says about itself (``clone_record``)
"""

from hn_core._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "duckdb_io_manager": ("WarehouseDuckDBIOManager",),
        "snowflake_io_manager": ("WarehouseSnowflakeIOManager",),
        "ledger": ("TableWithLedger",),
        "columns": ("TableColumns", "UndeclaredColumnTypeError"),
        "query": ("WarehouseQuery", "DuckDBWarehouseQuery", "build_warehouse_query"),
        "clone_record": ("CloneRecord", "read_clone_record"),
    },
)

"""Compatibility patches that let the real dagster-snowflake code run unmodified on fakesnow 0.12.x.

Each gap is bridged by subclassing fakesnow's connection and cursor (``hn_testing._emulator_connection``, used only
while an emulator is active), by SQL of the emulator's own (``hn_testing._fakesnow_rewrites``) or by wrapping a
fakesnow function (here); production code paths are never changed. This module installs them (``compat_patches``).

| Gap in fakesnow 0.12.1                                        | Bridged by                                     |
|---------------------------------------------------------------|------------------------------------------------|
| missing table/schema/database errors use DuckDB's wording     | ``_snowflake_errors.snowflake_error``          |
| ``write_pandas`` imported by name in dagster_snowflake_pandas | ``TYPE_HANDLER_WRITE_PANDAS`` (extra target)   |
| fake ``write_pandas`` raises raw DuckDB exceptions            | ``write_pandas``                               |
| ``DROP DATABASE`` does not parse                              | ``EmulatorCursor._drop_database``              |
| ``CREATE DATABASE .. CLONE`` is empty, ``OR REPLACE`` fails   | ``EmulatorCursor._create_database``            |
| ``CREATE SCHEMA .. CLONE`` does not parse                     | ``EmulatorCursor._create_schema_clone``        |
| ``SHOW DATABASES``: created_on is 1970, LIKE/TERSE ignored    | ``show_databases_sql``                         |
| ``INFORMATION_SCHEMA.DATABASES``: 1970, SYSADMIN, no ``DB.``  | ``information_schema_databases``               |
| ``SHOW SCHEMAS LIKE`` ignores LIKE                            | ``EmulatorCursor._transform``                  |
| ``DESCRIBE TABLE DB.S.T`` fails without a current database    | ``describe_table``                             |
| ``ALTER TABLE .. SWAP WITH`` does not parse                   | ``EmulatorCursor._swap_tables``                |
| ``RENAME TO`` another schema renames the table in place       | ``EmulatorCursor._refuse_a_move`` (refused)    |
| DDL after an explicit ``BEGIN`` (autocommit on) stays in it   | ``EmulatorCursor._end_transaction_before_ddl`` |
| connections must reach the emulator's catalog                 | ``emulator_connect`` (``FakeSnow.connect``)    |
| no roles, users, ownership nor privileges                     | ``EmulatorConnection.access``, see below       |

Access control is enforced by the connection and cursor (``hn_testing._emulator_connection``) and, for the rows
``write_pandas`` inserts past the cursor, by ``write_pandas`` here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import duckdb
import fakesnow.fakes
from fakesnow import transforms
from fakesnow.instance import FakeSnow
from fakesnow.pandas_tools import write_pandas as fakesnow_write_pandas
from snowflake.connector.errors import ProgrammingError
from sqlglot import exp

from hn_testing._access_control import AccessControl
from hn_testing._authorization import Authorizer
from hn_testing._emulator_catalog import EmulatorCatalog
from hn_testing._emulator_connection import EmulatorConnection
from hn_testing._fakesnow_rewrites import describe_table
from hn_testing._snowflake_errors import snowflake_error

# dagster_snowflake_pandas does `from snowflake.connector.pandas_tools import write_pandas`, so patching the
# connector module alone leaves the I/O manager calling the real function.
TYPE_HANDLER_WRITE_PANDAS = "dagster_snowflake_pandas.snowflake_pandas_type_handler.write_pandas"


def _authorize_load(conn: EmulatorConnection, table_name: str, database: str | None, schema: str | None) -> None:
    """``write_pandas`` loads with COPY INTO: INSERT on an existing table, and a warehouse to run on."""
    table = exp.table_(table_name, db=schema, catalog=database)
    authorizer = Authorizer(conn.access, conn.catalog, conn.database, conn.schema)
    if (relation := authorizer.relation(table)) is not None:
        conn.access.require("INSERT", relation)
    conn.access.require_warehouse()


_WRITE_PANDAS_SIGNATURE = inspect.signature(fakesnow_write_pandas)


def write_pandas(conn: EmulatorConnection, df: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
    """fakesnow's ``write_pandas`` with access control, Snowflake's exception type and wording.

    fakesnow inserts the frame through the raw DuckDB connection, so a frame with a column the existing table
    lacks (dagster keeps the old table when the column set changes) raises ``duckdb.BinderException``
    instead of Snowflake's ``ProgrammingError: invalid identifier``; and the insert bypasses the cursor, so its
    privileges are checked here (creating a missing table goes through the cursor and is checked there).
    """
    arguments = _WRITE_PANDAS_SIGNATURE.bind(conn, df, table_name, *args, **kwargs).arguments
    _authorize_load(conn, table_name, arguments.get("database"), arguments.get("schema"))
    try:
        return fakesnow_write_pandas(conn, df, table_name, *args, **kwargs)
    except duckdb.Error as error:
        message = str(error)
        if reworded := snowflake_error(message, None, conn.catalog, conn.database, conn.schema):
            raise reworded from error
        errno, sqlstate = (100038, "22018") if isinstance(error, duckdb.ConversionException) else (2043, "02000")
        raise ProgrammingError(msg=message.split("\n")[0], errno=errno, sqlstate=sqlstate) from error


def emulator_connect(catalog: EmulatorCatalog, control: AccessControl) -> Callable[..., EmulatorConnection]:
    """A replacement for ``FakeSnow.connect`` that builds ``EmulatorConnection``s bound to ``catalog``.

    ``fakesnow.patch`` routes ``snowflake.connector.connect`` to ``FakeSnow.connect``; every connection
    is a new cursor on one shared in-process DuckDB instance, so data written through one connection is
    visible through any later one (in-memory or not).
    """

    def connect(
        fs: FakeSnow,
        database: str | None = None,
        schema: str | None = None,
        nop_regexes: list[str] | None = None,
        **kwargs: Any,
    ) -> EmulatorConnection:
        catalog.bind(fs.duck_conn)
        return EmulatorConnection(
            catalog,
            control,
            fs.duck_conn.cursor(),
            fs.results_cache,
            database,
            schema,
            create_database=fs.create_database_on_connect,
            create_schema=fs.create_schema_on_connect,
            db_path=fs.db_path,
            nop_regexes=nop_regexes or fs.nop_regexes,
            **kwargs,
        )

    return connect


@contextmanager
def compat_patches(catalog: EmulatorCatalog, control: AccessControl) -> Iterator[None]:
    """Install the compatibility layer; enter before ``fakesnow.patch``, which reads what is patched here."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(FakeSnow, "connect", emulator_connect(catalog, control)))
        stack.enter_context(mock.patch.object(transforms, "describe_table", describe_table))
        # fakesnow.patch maps the real write_pandas to `fakesnow.fakes.write_pandas` when it starts.
        stack.enter_context(mock.patch.object(fakesnow.fakes, "write_pandas", write_pandas))
        yield

"""Account-level state of the Snowflake emulator: which databases exist, what is in them, when they were created.

fakesnow maps every Snowflake database to an attached DuckDB catalog (an in-memory one, or the file
``<db_path>/<NAME>.db``) but keeps nothing about the database itself: it cannot drop one, clones only
tables, and reports ``created_on`` as 1970-01-01 for every database. This module owns that missing state
for one emulator, working directly on fakesnow's shared DuckDB instance:

- a registry table ``_fs_global._fs_information_schema._emulator_databases`` (name, created_on) backs
  ``SHOW DATABASES`` and the view ``_fs_global._fs_information_schema.databases`` behind every
  ``INFORMATION_SCHEMA.DATABASES``;
- each database also stores its own ``created_on`` in ``<DB>._fs_information_schema._emulator_created_on``
  so that it survives reopening a ``db_path`` and disappears with the database.

Clones and swaps, which copy inside DuckDB, are in ``hn_testing._database_copies``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
from fakesnow import info_schema, macros

from hn_testing._access_statements import Securable

REGISTRY_TABLE = "_fs_global._fs_information_schema._emulator_databases"
CREATED_ON_TABLE = "_emulator_created_on"
FS_INFORMATION_SCHEMA = "_fs_information_schema"

#: Prefix of the catalog a ``CREATE OR REPLACE DATABASE .. CLONE`` is built in before it replaces the old database.
STAGING_PREFIX = "_emulator_staging_"


def is_database_sql(column: str) -> str:
    """SQL that is true where ``column`` names a Snowflake database: not the root in-memory catalog, fakesnow's
    global metadata catalog, DuckDB's own, nor a clone still being built."""
    return (
        f"{column} NOT IN ('memory', '_fs_global', 'system', 'temp') AND NOT starts_with({column}, '{STAGING_PREFIX}')"
    )


# fakesnow's global metadata about objects inside a database (VARCHAR lengths, table comments, file
# formats), keyed by the database's name: copied by a clone, deleted by a drop.
CLONED_METADATA = {
    "_fs_global._fs_information_schema._fs_columns_ext": "ext_table_catalog",
    "_fs_global._fs_information_schema._fs_tables_ext": "ext_table_catalog",
    "_fs_global._fs_information_schema._fs_file_formats": "database_name",
}
#: fakesnow's metadata about each table (VARCHAR lengths, comments), by catalog, schema and table name.
TABLE_METADATA = (
    "_fs_global._fs_information_schema._fs_columns_ext",
    "_fs_global._fs_information_schema._fs_tables_ext",
)
# Stages are not cloned (Snowflake does not clone internal stages either), but go with their database.
_DATABASE_METADATA = {**CLONED_METADATA, "_fs_global._fs_information_schema._fs_stages": "database_name"}

# Backs every ``<DB>.INFORMATION_SCHEMA.DATABASES`` (all list the whole account, as in Snowflake).
DATABASES_VIEW = "_fs_global._fs_information_schema.databases"
_CREATE_DATABASES_VIEW = f"""
CREATE OR REPLACE VIEW {DATABASES_VIEW} AS
SELECT
    d.database_name AS DATABASE_NAME,
    'SYSADMIN' AS DATABASE_OWNER,
    'NO' AS IS_TRANSIENT,
    d.comment AS COMMENT,
    coalesce(r.created_on, to_timestamp(0)) AS CREATED,
    coalesce(r.created_on, to_timestamp(0)) AS LAST_ALTERED,
    1 AS RETENTION_TIME,
    'STANDARD' AS TYPE
FROM duckdb_databases() AS d
LEFT JOIN {REGISTRY_TABLE} AS r ON r.database_name = d.database_name
WHERE NOT d.internal AND {is_database_sql("d.database_name")}
ORDER BY d.database_name
"""


class ConnectionState(Protocol):
    """What the catalog needs from a live emulator connection to drop the database it is using."""

    database: str | None

    def forget_database(self) -> None:
        """Leave the current database, as a Snowflake session does when its database is dropped."""

    def is_closed(self) -> bool:
        """Whether the connection was closed."""

    def close(self) -> None:
        """Close the connection."""


def quote(identifier: str) -> str:
    """Quote a DuckDB identifier, so names are never pasted into SQL unescaped."""
    return '"' + identifier.replace('"', '""') + '"'


def as_utc(moment: datetime) -> datetime:
    """Snowflake timestamps here are TIMESTAMP_LTZ in UTC; a naive datetime is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class EmulatorCatalog:
    """The databases of one emulator instance and the operations fakesnow lacks on them."""

    def __init__(self, db_path: Path | None) -> None:
        self.db_path = db_path
        self._root: duckdb.DuckDBPyConnection | None = None
        self.lock = threading.RLock()
        self._connections: weakref.WeakSet[ConnectionState] = weakref.WeakSet()

    # -- wiring -----------------------------------------------------------------------------------

    def bind(self, root: duckdb.DuckDBPyConnection) -> None:
        """Attach to fakesnow's DuckDB instance (idempotent) and load any databases already in db_path."""
        with self.lock:
            if self._root is root:
                return
            self._root = root
            with self.cursor() as cur:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {REGISTRY_TABLE} "
                    "(database_name VARCHAR PRIMARY KEY, created_on TIMESTAMPTZ NOT NULL)"
                )
                cur.execute(_CREATE_DATABASES_VIEW)
            self._attach_persisted()
            self.sync()

    def track(self, connection: ConnectionState) -> None:
        """Remember a live connection so that dropping its current database can reset it."""
        self._connections.add(connection)

    def close_connections(self) -> None:
        """Close connections a test left open, so the DuckDB files are released when the emulator stops."""
        for connection in list(self._connections):
            if not connection.is_closed():
                connection.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh DuckDB connection on the shared instance: its own autocommit, never a caller's transaction."""
        if self._root is None:
            raise RuntimeError("the emulator catalog is not bound to a fakesnow instance yet")
        cur = self._root.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def file(self, name: str) -> Path | None:
        """Where fakesnow keeps a database when it persists to db_path (same naming as fakesnow)."""
        return self.db_path / f"{name}.db" if self.db_path else None

    def _attach_persisted(self) -> None:
        """Attach every database file in db_path, so that a reopened emulator sees all of them.

        fakesnow only attaches a file when a connection names its database, so without this a
        ``SHOW DATABASES`` or a clone from a fresh process would not see databases written earlier.
        """
        if not self.db_path:
            return
        for file in sorted(self.db_path.glob("*.db")):
            if file.stem.startswith(STAGING_PREFIX):
                file.unlink()  # a replacing clone that never finished: the database it was to replace is intact
            elif not self.exists(file.stem):
                self._attach(file.stem, file)

    def _attach(self, name: str, file: Path | None) -> None:
        """Attach a catalog and create fakesnow's per-database metadata, as fakesnow's CREATE DATABASE does."""
        location = str(file).replace("'", "''") if file else ":memory:"
        with self.cursor() as cur:
            cur.execute(f"ATTACH DATABASE '{location}' AS {quote(name)}")
            cur.execute(info_schema.per_db_creation_sql(name))
            cur.execute(macros.creation_sql(name))

    # -- queries ----------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Names of all databases, sorted."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT database_name FROM duckdb_databases() "
                f"WHERE NOT internal AND {is_database_sql('database_name')} ORDER BY database_name"
            ).fetchall()
        return [row[0] for row in rows]

    def exists(self, name: str) -> bool:
        """Whether a database exists (Snowflake database names are case-insensitive unless quoted)."""
        return name.upper() in {n.upper() for n in self.names()}

    def created_on(self, name: str) -> datetime:
        """When a database was created (or cloned), as SHOW DATABASES reports it."""
        with self.cursor() as cur:
            row = cur.execute(f"SELECT created_on FROM {REGISTRY_TABLE} WHERE database_name = ?", [name]).fetchone()
        if row is None:
            raise KeyError(f"database {name!r} does not exist")
        return as_utc(row[0])

    def tables(self, database: str) -> set[str]:
        """Base tables of a database as ``SCHEMA.TABLE``, leaving out fakesnow's metadata schema."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() "
                "WHERE upper(database_name) = upper(?) AND schema_name != ?",
                [database, FS_INFORMATION_SCHEMA],
            ).fetchall()
        return {f"{schema}.{table}" for schema, table in rows}

    def missing_part(self, database: str, schema: str | None, table: str | None) -> str | None:
        """Which part of ``database.schema.table`` does not exist: "database", "schema", "table" or None."""
        if not self.exists(database):
            return "database"
        if schema is None:
            return None
        if schema.upper() not in {s.upper() for s in self.schemas(database)} | {"MAIN"}:
            return "schema"
        if table is None:
            return None
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT count(*) FROM ("
                "SELECT database_name, schema_name, table_name AS name FROM duckdb_tables() UNION ALL "
                "SELECT database_name, schema_name, view_name FROM duckdb_views()"
                ") WHERE upper(database_name) = ? AND upper(schema_name) = ? AND upper(name) = ?",
                [database.upper(), schema.upper(), table.upper()],
            ).fetchone()
        return None if row and row[0] else "table"

    def relations(self, database: str, schema: str | None = None) -> list[tuple[str, str, str]]:
        """``(schema, name, kind)`` of every table ("TABLE") and view ("VIEW") of a database, or of one schema."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() "
                "WHERE upper(database_name) = ? AND schema_name != ? AND (? IS NULL OR upper(schema_name) = ?) "
                "UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() "
                "WHERE NOT internal AND upper(database_name) = ? AND schema_name != ? "
                "AND (? IS NULL OR upper(schema_name) = ?)",
                [database.upper(), FS_INFORMATION_SCHEMA, schema and schema.upper(), schema and schema.upper()] * 2,
            ).fetchall()
        return [(s.upper(), name.upper(), kind) for s, name, kind in rows]

    def relation_kind(self, database: str, schema: str, name: str) -> str | None:
        """ "TABLE" or "VIEW" if ``database.schema.name`` exists, else None (one query: checked per statement)."""
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT 'TABLE' FROM duckdb_tables() WHERE upper(database_name) = ? AND upper(schema_name) = ? "
                "AND upper(table_name) = ? UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE NOT internal "
                "AND upper(database_name) = ? AND upper(schema_name) = ? AND upper(view_name) = ? LIMIT 1",
                [database.upper(), schema.upper(), name.upper()] * 2,
            ).fetchone()
        return row[0] if row else None

    def securable_exists(self, securable: Securable) -> bool:
        """Whether a database, schema, table or view exists (names compare case-insensitively)."""
        parts = securable.parts
        if securable.kind == "DATABASE":
            return self.exists(parts[0])
        if securable.kind == "SCHEMA":
            return parts[1] in {s.upper() for s in self.schemas(parts[0])}
        return self.relation_kind(*parts) == securable.kind

    def contents(self, container: Securable, kind: str) -> list[Securable]:
        """Schemas, tables or views inside a database (or tables and views inside a schema), sorted."""
        database, *schema = container.parts
        if kind == "SCHEMA":
            return sorted(Securable("SCHEMA", f"{database}.{s.upper()}") for s in self.schemas(database))
        found = self.relations(database, schema[0] if schema else None)
        return sorted(Securable(k, f"{database}.{s}.{name}") for s, name, k in found if k == kind)

    def schemas(self, database: str) -> set[str]:
        """User schemas of a database (not DuckDB's ``main`` nor fakesnow's metadata schema)."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE upper(database_name) = upper(?) AND NOT internal "
                "AND schema_name NOT IN ('main', ?)",
                [database, FS_INFORMATION_SCHEMA],
            ).fetchall()
        return {row[0] for row in rows}

    # -- created_on -------------------------------------------------------------------------------

    def sync(self) -> None:
        """Register databases fakesnow attached by itself (e.g. on connect) and forget detached ones."""
        with self.lock, self.cursor() as cur:
            registered = {row[0] for row in cur.execute(f"SELECT database_name FROM {REGISTRY_TABLE}").fetchall()}
            attached = set(self.names())
            for name in registered - attached:
                cur.execute(f"DELETE FROM {REGISTRY_TABLE} WHERE database_name = ?", [name])
        for name in sorted(attached - registered):
            self.register(name)

    def register(self, name: str, created_on: datetime | None = None) -> None:
        """Record a database's created_on: the given time, else the one persisted with it, else now."""
        table = f"{quote(name)}.{FS_INFORMATION_SCHEMA}.{CREATED_ON_TABLE}"
        with self.lock, self.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (created_on TIMESTAMPTZ NOT NULL)")
            if created_on is None:
                row = cur.execute(f"SELECT max(created_on) FROM {table}").fetchone()
                created_on = row[0] if row and row[0] is not None else datetime.now(UTC)
            moment = as_utc(created_on)
            cur.execute(f"DELETE FROM {table}")
            cur.execute(f"INSERT INTO {table} VALUES (?)", [moment])
            cur.execute(f"INSERT OR REPLACE INTO {REGISTRY_TABLE} VALUES (?, ?)", [name, moment])

    def set_created_on(self, name: str, created_on: datetime) -> None:
        """Back-date (or move) a database's created_on; only tests do this, Snowflake cannot."""
        actual = self.resolve(name)
        self.register(actual, created_on)

    def resolve(self, name: str) -> str:
        """The stored spelling of a database name (names are case-insensitive); KeyError if there is none."""
        for existing in self.names():
            if existing.upper() == name.upper():
                return existing
        raise KeyError(f"database {name!r} does not exist")

    # -- DDL --------------------------------------------------------------------------------------

    def create(self, name: str) -> None:
        """Create an empty database, created_on now."""
        with self.lock:
            self._attach(name, self.file(name))
            self.register(name, datetime.now(UTC))

    def drop(self, name: str) -> None:
        """Drop a database with all its schemas and tables, its file and fakesnow's metadata about it.

        Connections whose current database it was lose their current database, as Snowflake sessions do.
        """
        with self.lock:
            self.drop_attached(self.resolve(name))

    def drop_attached(self, actual: str) -> None:
        """Drop the attached catalog ``actual`` (its stored spelling): a database, or one being built by a copy."""
        with self.lock:
            for connection in list(self._connections):
                if connection.database and connection.database.upper() == actual.upper():
                    connection.forget_database()
            with self.cursor() as cur:
                cur.execute(f"DETACH DATABASE IF EXISTS {quote(actual)}")
                for table, column in _DATABASE_METADATA.items():
                    cur.execute(f"DELETE FROM {table} WHERE {quote(column)} = ?", [actual])
                cur.execute(f"DELETE FROM {REGISTRY_TABLE} WHERE database_name = ?", [actual])
            if file := self.file(actual):
                for path in (file, file.with_name(file.name + ".wal")):
                    with suppress(FileNotFoundError):
                        path.unlink()

    def attached(self) -> set[str]:
        """Every attached catalog, staging ones included."""
        with self.cursor() as cur:
            return {row[0] for row in cur.execute("SELECT database_name FROM duckdb_databases()").fetchall()}

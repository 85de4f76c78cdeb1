"""Copies inside the emulator's DuckDB: database and schema clones, an atomic CREATE OR REPLACE, table swaps.

Snowflake clones zero-copy; DuckDB copies. A clone holds every schema, table (with its rows) and view of its source
but the children the cloning role may not clone (https://docs.snowflake.com/en/sql-reference/sql/create-clone:
"Cloning includes only the objects on which the role that creates the clone has appropriate privileges"), and
fakesnow's metadata about them (VARCHAR lengths, comments, file formats) goes with them. Load history and internal
stages are not cloned, as in Snowflake.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import duckdb
from fakesnow import info_schema, macros

from hn_testing._access_statements import Securable
from hn_testing._emulator_catalog import (
    CLONED_METADATA,
    FS_INFORMATION_SCHEMA,
    STAGING_PREFIX,
    TABLE_METADATA,
    EmulatorCatalog,
    quote,
)


def clone_database(catalog: EmulatorCatalog, source: str, target: str, left_out: Collection[Securable] = ()) -> None:
    """Create ``target`` as a full copy of ``source``: every schema, table (with rows) and view but ``left_out``.

    ``left_out`` are schemas, tables and views of ``source`` that the cloning role may not clone (Snowflake's
    clone holds only what its role may clone). DuckDB's ``COPY FROM DATABASE`` copies everything, including
    fakesnow's metadata schema whose views name the source catalog, so that schema is rebuilt for the target
    afterwards. Load history is not cloned (as in Snowflake). On failure the half-made target is dropped.
    """
    source = catalog.resolve(source)
    with catalog.lock:
        copy_database(catalog, source, target)
        try:
            with catalog.cursor() as cur:
                for securable in left_out:
                    _drop_copied(cur, target, securable.parts[1:], securable.kind)
            catalog.register(target, datetime.now(UTC))
        except Exception:
            catalog.drop_attached(target)
            raise


def replace_with_clone(
    catalog: EmulatorCatalog, source: str, target: str, left_out: Collection[Securable] = ()
) -> None:
    """``CREATE OR REPLACE DATABASE target CLONE source``, atomic as in Snowflake.

    "CREATE OR REPLACE <object> statements are atomic. That is, when an object is replaced, the old object is
    deleted and the new object is created in a single transaction."
    (https://docs.snowflake.com/en/sql-reference/sql/create-database, .../create-clone, usage notes). DuckDB
    cannot rename an attached database nor hold two in one transaction, so the clone is first built as a
    staging database: whatever fails there (reading the source, running out of space) leaves ``target`` as it
    was. Only then is ``target`` dropped and the finished staging database copied into its place.
    """
    staging = STAGING_PREFIX + target
    with catalog.lock:
        if staging in catalog.attached():
            catalog.drop_attached(staging)
        clone_database(catalog, source, staging, left_out)
        try:
            catalog.drop_attached(catalog.resolve(target))
            copy_database(catalog, staging, target)
            catalog.register(target, datetime.now(UTC))
        finally:
            catalog.drop_attached(staging)


def copy_database(catalog: EmulatorCatalog, source: str, target: str) -> None:
    """Attach ``target`` and copy every schema, table and view of ``source`` into it, with fakesnow's metadata.

    On failure the half-made target is dropped.
    """
    file = catalog.file(target)
    location = str(file).replace("'", "''") if file else ":memory:"
    with catalog.cursor() as cur:
        cur.execute(f"ATTACH DATABASE '{location}' AS {quote(target)}")
    try:
        with catalog.cursor() as cur:
            cur.execute(f"COPY FROM DATABASE {quote(source)} TO {quote(target)}")
            cur.execute(f"DROP SCHEMA {quote(target)}.{FS_INFORMATION_SCHEMA} CASCADE")
            cur.execute(info_schema.per_db_creation_sql(target))
            cur.execute(macros.creation_sql(target))
            for table, column in CLONED_METADATA.items():
                columns = [r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()]
                select = ", ".join("?" if c == column else quote(c) for c in columns)
                cur.execute(
                    f"INSERT INTO {table} SELECT {select} FROM {table} WHERE {quote(column)} = ?",
                    [target, source],
                )
    except Exception:
        catalog.drop_attached(target)
        raise


def clone_schema(
    catalog: EmulatorCatalog,
    database: str,
    source: str,
    target: str,
    *,
    replace: bool = False,
    left_out: Collection[Securable] = (),
) -> None:
    """Create schema ``target`` of ``database`` as a copy of schema ``source``: every table, with its rows.

    Snowflake clones a schema's tables, views and other objects zero-copy; the emulator copies the tables (their
    VARCHAR lengths and comments too, from fakesnow's metadata) and recreates the views from their definitions
    (a name they qualify still points where it pointed, as in Snowflake), except the tables and views in
    ``left_out`` (those the cloning role may not clone). With ``replace`` an existing ``target`` is dropped in
    the same DuckDB transaction, so a failed clone leaves it as it was ("CREATE OR REPLACE <object> statements
    are atomic", https://docs.snowflake.com/en/sql-reference/sql/create-clone, usage notes).
    """
    database = catalog.resolve(database)
    prefix = f"{quote(database)}.{quote(source)}"
    skipped = {securable.short_name for securable in left_out}
    with catalog.lock, catalog.cursor() as cur:
        kinds = cur.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = ? AND table_schema = ? ORDER BY table_name",
            [database, source],
        ).fetchall()
        if source.upper() not in {schema.upper() for schema in catalog.schemas(database)}:
            raise KeyError(f"schema {database}.{source} does not exist")
        views = dict(
            cur.execute(
                "SELECT table_name, view_definition FROM information_schema.views "
                "WHERE table_catalog = ? AND table_schema = ?",
                [database, source],
            ).fetchall()
        )
        cur.execute("BEGIN")
        try:
            if replace:
                cur.execute(f"DROP SCHEMA IF EXISTS {quote(database)}.{quote(target)} CASCADE")
            cur.execute(f"CREATE SCHEMA {quote(database)}.{quote(target)}")
            for table, kind in kinds:
                if table.upper() in skipped:
                    continue
                created = f"{quote(database)}.{quote(target)}.{quote(table)}"
                if kind == "VIEW":
                    query = re.split(r"\bAS\b", views[table], maxsplit=1, flags=re.IGNORECASE)[1]  # DuckDB keeps
                    cur.execute(f"CREATE VIEW {created} AS {query.strip().rstrip(';')}")  # the whole CREATE VIEW
                else:
                    cur.execute(f"CREATE TABLE {created} AS SELECT * FROM {prefix}.{quote(table)}")
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        for metadata in TABLE_METADATA:  # fakesnow's own catalog: a transaction of its own
            where = "WHERE ext_table_catalog = ? AND ext_table_schema = ?"
            cur.execute(f"DELETE FROM {metadata} {where}", [database, target])  # a replaced schema's
            columns = [r[0] for r in cur.execute(f"DESCRIBE {metadata}").fetchall()]
            select = ", ".join("?" if c == "ext_table_schema" else quote(c) for c in columns)
            cur.execute(
                f"INSERT INTO {metadata} SELECT {select} FROM {metadata} "
                "WHERE ext_table_catalog = ? AND ext_table_schema = ? AND upper(ext_table_name) NOT IN "
                f"(SELECT unnest(?::VARCHAR[]))",
                [target, database, source, sorted(skipped)],
            )


def swap_tables(catalog: EmulatorCatalog, first: tuple[str, str, str], second: tuple[str, str, str]) -> None:
    """``ALTER TABLE first SWAP WITH second``: the two tables exchange names, in one DuckDB transaction.

    Both are ``(database, schema, table)`` as stored. Snowflake swaps across schemas too; every swap the
    platform runs is inside one schema, and DuckDB cannot rename into another schema, so that is refused.
    fakesnow's column metadata (VARCHAR lengths, comments) is exchanged afterwards, in its own catalog.
    """
    (database, schema, table), (other_database, other_schema, other) = first, second
    if (database.upper(), schema.upper()) != (other_database.upper(), other_schema.upper()):
        raise NotImplementedError("the emulator swaps tables of one schema only")
    parking = f"_emulator_swap_{table}"
    prefix = f"{quote(database)}.{quote(schema)}"
    with catalog.lock, catalog.cursor() as cur:
        cur.execute("BEGIN")
        try:
            cur.execute(f"ALTER TABLE {prefix}.{quote(table)} RENAME TO {quote(parking)}")
            cur.execute(f"ALTER TABLE {prefix}.{quote(other)} RENAME TO {quote(table)}")
            cur.execute(f"ALTER TABLE {prefix}.{quote(parking)} RENAME TO {quote(other)}")
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        for metadata in TABLE_METADATA:
            where = "ext_table_catalog = ? AND ext_table_schema = ? AND ext_table_name = ?"
            for old, new in ((table, parking), (other, table), (parking, other)):
                cur.execute(f"UPDATE {metadata} SET ext_table_name = ? WHERE {where}", [new, database, schema, old])


def _drop_copied(cur: duckdb.DuckDBPyConnection, database: str, parts: Sequence[str], kind: str) -> None:
    """Drop one copied schema, table or view (``parts`` without the database) and fakesnow's metadata about it."""
    schema, *name = parts
    found = cur.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? AND upper(schema_name) = ?",
        [database, schema.upper()],
    ).fetchone()
    if found is None:
        return
    stored_schema = found[0]
    where = "ext_table_catalog = ? AND ext_table_schema = ?"
    if kind == "SCHEMA":
        cur.execute(f"DROP SCHEMA {quote(database)}.{quote(stored_schema)} CASCADE")
        for metadata in TABLE_METADATA:
            cur.execute(f"DELETE FROM {metadata} WHERE {where}", [database, stored_schema])
        return
    relation = cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
        "AND upper(table_name) = ?",
        [database, stored_schema, name[0].upper()],
    ).fetchone()
    if relation is None:
        return
    cur.execute(f"DROP {kind} {quote(database)}.{quote(stored_schema)}.{quote(relation[0])}")
    for metadata in TABLE_METADATA:
        cur.execute(
            f"DELETE FROM {metadata} WHERE {where} AND ext_table_name = ?", [database, stored_schema, relation[0]]
        )

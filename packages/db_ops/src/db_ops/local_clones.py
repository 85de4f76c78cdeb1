"""Pull-request clones on a laptop: DuckDB files beside the local warehouse, made and dropped like Snowflake's.

Locally, the DuckDB file ``HN_DUCKDB_PATH`` plays production. ``clone_prod`` copies it into
``PRODUCTION_CLONE_<PR>.duckdb`` in the same folder, through DuckDB itself (``COPY FROM DATABASE``, so a file being
written is never copied half-way), and keeps the tables as of the clone in the schema ``HACKER_NEWS_BASE`` of the
copy: the base a diff compares with, as in a Snowflake clone (its tables; views are not kept in the base). DuckDB has
no zero-copy clone and no roles, so the copy costs the file's size and nothing stops a local run from writing the
base; the names are the same as in
Snowflake, and so is what is refused: any name that is not ``PRODUCTION_CLONE_<digits>``.

The copy is made under a temporary name and moved into place in one rename, so a failed or killed clone leaves the
previous clone (or none), never half of one. ``drop_prod_clone`` deletes the file; a second drop is harmless.
"""

import os
from contextlib import closing, suppress
from pathlib import Path

import dagster as dg
from pydantic import Field

from db_ops.placement import RefusalError
from db_ops.sql import TableInfo
from hn_core.deployment.names import BASE_SCHEMA, CLONE_RECORD_TABLE, HACKER_NEWS_SCHEMA, validate_clone_name


class DuckDBClones(dg.ConfigurableResource):
    """Clones of the local DuckDB warehouse, one file per pull request beside it."""

    warehouse: str = Field(description="The local warehouse file that plays production (HN_DUCKDB_PATH).")

    def path_of(self, clone: str) -> Path:
        """Where ``clone`` lives: ``PRODUCTION_CLONE_<PR>.duckdb`` beside the warehouse."""
        return Path(self.warehouse).resolve().parent / f"{validate_clone_name(clone)}.duckdb"

    def clone(self, clone: str, pull_request_id: int, commit: str | None = None) -> list[TableInfo]:
        """Replace ``clone`` with a copy of the warehouse, its base schema and the clone's record (which pull
        request and commit it was made for, and when); returns the copy's tables."""
        source, target = Path(self.warehouse), self.path_of(clone)
        if not source.exists():
            raise RefusalError(
                f"There is no local warehouse to clone at {source}: materialize the assets first (uv run "
                "hn-quickstart, or dg launch), or point HN_DUCKDB_PATH at your warehouse file."
            )
        import duckdb  # here, not when the location loads: db_ops loads without it

        staging = target.with_name(f"{target.stem}.cloning.duckdb")
        _remove(staging)
        try:
            with closing(duckdb.connect()) as connection:
                connection.execute(f"ATTACH {_literal(source)} AS production (READ_ONLY)")
                connection.execute(f"ATTACH {_literal(staging)} AS clone")
                connection.execute("COPY FROM DATABASE production TO clone")
                tables = connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'clone' "
                    f"AND table_schema = '{HACKER_NEWS_SCHEMA}' AND table_type = 'BASE TABLE' ORDER BY table_name"
                ).fetchall()
                # A warehouse that is itself a clone has a base already: the new clone's base is this one's tables.
                connection.execute(f"DROP SCHEMA IF EXISTS clone.{BASE_SCHEMA} CASCADE")
                connection.execute(f"CREATE SCHEMA clone.{BASE_SCHEMA}")
                for (table,) in tables:
                    connection.execute(
                        f"CREATE TABLE clone.{BASE_SCHEMA}.{quote(table)} AS "
                        f"SELECT * FROM clone.{HACKER_NEWS_SCHEMA}.{quote(table)}"
                    )
                connection.execute(
                    f"CREATE TABLE clone.{BASE_SCHEMA}.{CLONE_RECORD_TABLE} "
                    "(PULL_REQUEST BIGINT, COMMIT_SHA VARCHAR, CLONED_AT TIMESTAMPTZ)"
                )
                connection.execute(
                    f"INSERT INTO clone.{BASE_SCHEMA}.{CLONE_RECORD_TABLE} VALUES (?, ?, current_timestamp)",
                    [pull_request_id, commit],
                )
                connection.execute("DETACH clone")
                connection.execute("DETACH production")
            _remove(Path(f"{target}.wal"))
            os.replace(staging, target)
        finally:
            _remove_quietly(staging)
            _remove_quietly(Path(f"{staging}.wal"))
        return tables_of(target)

    def drop(self, clone: str) -> bool:
        """Delete ``clone``'s file; ``False`` if there was none."""
        target = self.path_of(clone)
        existed = target.exists()
        _remove(target)
        _remove(Path(f"{target}.wal"))
        return existed


def tables_of(path: Path) -> list[TableInfo]:
    import duckdb

    with closing(duckdb.connect(str(path), read_only=True)) as connection:
        rows = connection.execute(
            "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() ORDER BY schema_name, table_name"
        ).fetchall()
    return [TableInfo(schema, name, rows) for schema, name, rows in rows]


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _remove_quietly(path: Path) -> None:
    """Clean up after a failed clone without hiding why it failed (the path may be anything, even a folder)."""
    with suppress(OSError):
        path.unlink(missing_ok=True)

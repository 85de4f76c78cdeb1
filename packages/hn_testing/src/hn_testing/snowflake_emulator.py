"""An in-process Snowflake for tests: fakesnow 0.12.x plus a small compatibility layer.

While ``snowflake_emulator()`` is active, ``snowflake.connector.connect`` and ``write_pandas`` (also where
``dagster_snowflake_pandas`` imported it by name) are fakes, so the real ``SnowflakePandasIOManager`` and
``SnowflakeResource`` run unmodified against DuckDB. The yielded ``SnowflakeEmulator`` lets a test set up
and inspect state with plain SQL.

Behaviour that differs from a default ``fakesnow.patch()`` on purpose, to match a real account:

- connecting does not create the database or schema named in the connection (both off by default); the
  databases a test needs are created up front (``databases=``) or by SQL, and the I/O manager creates its
  schema itself, as it does on Snowflake;
- ``CREATE DATABASE`` (with or without ``CLONE``) makes the new database the session's current one;
- access control: roles, users, sessions, ownership and privileges as a Snowflake account enforces them.

See ``hn_testing._fakesnow_compat`` for every patch and why it exists.

Access control (the account's roles, users, owners and grants: ``hn_testing._access_control``; a connection's active
roles and checks: ``hn_testing._access_session``; what each statement needs: ``hn_testing._authorization``; ``USE
ROLE``, ``GRANT`` and the like: ``hn_testing._access_statement_runner``; what is not emulated: LIMITS below):

- The account starts with Snowflake's system roles and one user, ``ADMIN`` (``ACCOUNTADMIN``). Provision it with
  SQL run as that user (``run_script``), e.g. the repository's ``deploy/snowflake/`` (fixture
  ``provisioned_snowflake``).
- A connection's session comes from the credentials in use: the ``user`` (its ``DEFAULT_ROLE``,
  ``DEFAULT_WAREHOUSE`` and ``DEFAULT_SECONDARY_ROLES``), the ``role`` and ``warehouse`` arguments, then
  ``USE ROLE``, ``USE SECONDARY ROLES`` and ``USE WAREHOUSE``. Once a user was created by SQL, every connection
  must name an existing user (passwords and keys are not checked).
- Until then, and always for connections that name no user (the handle's own ``execute``, ``read_table`` ...),
  sessions are an unrestricted ``ACCOUNTADMIN``: tests that do not care about access control keep working, and
  what they create still belongs to a role.
- A statement the session may not run fails before it runs, as Snowflake words it: ``does not exist or not
  authorized`` for objects the role holds no privilege on, ``Insufficient privileges to operate on <kind>
  '<name>'`` for those it can see, and ``No active warehouse selected`` for a query without a usable warehouse.
- A ``CREATE`` statement is authorized by the primary role alone, any other statement by every active role; a
  database or schema clone holds only what the cloning role may clone, and ``CREATE OR REPLACE`` is atomic.

What a test must know (DuckDB underneath, not Snowflake):

- Dtypes the I/O manager loads (``pd.read_sql`` over the connector's Python values, as on Snowflake):
  integers -> int64, or float64 when a NULL is present (nullable ``Int64`` too); floats -> float64;
  strings (object or ``string``) -> object with None; bool -> bool, object when a NULL is present; naive
  datetimes (TIMESTAMP_NTZ) -> datetime64[ns]; tz-aware datetimes are stored TIMESTAMP_TZ and load as
  datetime64[ns, UTC] (Snowflake uses TIMESTAMP_LTZ in the session's time zone); a table without rows
  loads every column as object. Lists and dicts are stored as JSON text in a VARCHAR column (``'[1, 2]'``)
  where Snowflake would infer ARRAY/VARIANT and return indented JSON.
- Column types written by ``write_pandas``: NUMBER(38,0), FLOAT, VARCHAR(16777216), BOOLEAN,
  TIMESTAMP_NTZ(9) / TIMESTAMP_TZ(9).
- ``SELECT *`` returns rows in insertion order (Snowflake promises no order): sort before comparing.
- New databases have no PUBLIC schema. Database names compare case-insensitively even when quoted.
- ``CURRENT_DATABASE()`` is ``'memory'`` (not NULL) on a session without a current database.
- With ``db_path``, DuckDB locks the files: one process (one running emulator) at a time. Roles, users, owners and
  grants live in memory: a reopened ``db_path`` has no users, and its objects belong to ``ACCOUNTADMIN``.

LIMITS: what the emulator does not emulate, and the page that says what Snowflake does instead. A statement about
something below fails (``not modelled``, or fakesnow's parse error) rather than pretend to work, unless said otherwise.

- Authentication: passwords and key pairs are not checked, only that the user exists
  (https://docs.snowflake.com/en/user-guide/key-pair-auth; .../sql-reference/sql/create-user for ``TYPE = SERVICE``
  users, which have no password).
- Network policies: a connection is accepted from anywhere (https://docs.snowflake.com/en/user-guide/network-policies).
- Future grants (``GRANT ... ON FUTURE ...``): refused; a new table holds no grant but its owner's
  (https://docs.snowflake.com/en/sql-reference/sql/grant-privilege;
  .../user-guide/security-access-control-considerations, "future grants").
- Grant options (``WITH GRANT OPTION``), database roles, MANAGE GRANTS on a database or schema, and privileges
  granted to users directly (which Snowflake counts under ``USE SECONDARY ROLES ALL``)
  (https://docs.snowflake.com/en/user-guide/security-access-control-overview, "Database roles", "User-based Access
  Control"; .../sql-reference/sql/grant-privilege).
- Managed access schemas, where only the schema owner or MANAGE GRANTS may grant on the objects inside
  (https://docs.snowflake.com/en/user-guide/security-access-control-configure, "managed access schemas").
- Masking, row access and other data governance policies, and tags: every role that may SELECT sees every row and
  value (https://docs.snowflake.com/en/user-guide/security-column-intro, .../user-guide/security-row-intro).
- Privilege filtering of ``INFORMATION_SCHEMA``: with USAGE on a database its information schema lists everything
  in it (and ``DATABASES`` every database), where Snowflake returns "only objects for which the current role has been
  granted access privileges" (https://docs.snowflake.com/en/sql-reference/info-schema).
- Privileges on object kinds other than the account, warehouses, databases, schemas, tables and views (stages,
  sequences, functions, tasks ...): creating or dropping them in a restricted session is refused
  (https://docs.snowflake.com/en/user-guide/security-access-control-privileges).
- ``SHOW GRANTS``, ``SHOW ROLES``, ``DROP ROLE``, ``DROP USER`` and ``ALTER ROLE`` are not answered from the model;
  ``SHOW USERS`` lists nobody (https://docs.snowflake.com/en/sql-reference/sql/show-grants).
- Warehouses are a privilege and a name only: no size, suspension, credits nor resource monitors
  (https://docs.snowflake.com/en/sql-reference/sql/create-warehouse).
- Time Travel: a dropped or replaced database is gone; no ``UNDROP``, no ``AT | BEFORE``
  (https://docs.snowflake.com/en/user-guide/data-time-travel).
- Clones copy the data, and only schemas, tables (rows, types, defaults, constraints) and views: not sequences,
  stages, tasks nor the rest. Views in a clone read the clone's tables, even where they name the source database
  (Snowflake keeps those pointing at the source); a schema is cloned within its own database only
  (https://docs.snowflake.com/en/sql-reference/sql/create-clone, .../user-guide/object-clone).
- ``ALTER TABLE ... RENAME TO`` or ``SWAP WITH`` a table of another schema is refused; Snowflake moves it
  (https://docs.snowflake.com/en/sql-reference/sql/alter-table).
- One transaction (``autocommit=False``) can write to one database only; DuckDB raises otherwise
  (https://docs.snowflake.com/en/sql-reference/transactions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fakesnow
import snowflake.connector
from fakesnow.conn import FakeSnowflakeConnection

from hn_testing._access_control import ADMIN_USER, AccessControl
from hn_testing._emulator_catalog import EmulatorCatalog
from hn_testing._fakesnow_compat import TYPE_HANDLER_WRITE_PANDAS, compat_patches

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SnowflakeEmulator", "snowflake_emulator"]

_QUALIFIED_NAME = re.compile(r"[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*\.[A-Za-z_][\w$]*")


@dataclass(frozen=True)
class SnowflakeEmulator:
    """Handle on a running emulator: plain-SQL access and test-only controls over its databases and grants.

    ``access`` is the account's access control (roles, users, owners, grants), for tests to inspect.
    """

    catalog: EmulatorCatalog
    access: AccessControl

    @property
    def db_path(self) -> Path | None:
        """Directory holding one DuckDB file per database, or None when everything is in memory."""
        return self.catalog.db_path

    def connect(self, database: str | None = None, schema: str | None = None, **kwargs: Any) -> FakeSnowflakeConnection:
        """A new connection, exactly what ``snowflake.connector.connect`` returns inside the emulator."""
        return snowflake.connector.connect(database=database, schema=schema, **kwargs)

    def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, user: str | None = None, role: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement on a fresh connection (qmark params) and return all rows.

        Without ``user`` the connection is unrestricted (the test's own inspection); with one, it is that user's
        session (its default role and warehouse unless ``role`` is given), held to its privileges.
        """
        with self.connect(paramstyle="qmark", user=user, role=role) as conn:
            return list(conn.cursor().execute(sql, params).fetchall())

    def run_script(self, sql: str, user: str = ADMIN_USER) -> list[str]:
        """Run every statement of a SQL script as ``user`` (default the account's first admin), as SnowSQL would.

        Access control applies: a script run as ``ADMIN`` may do what ``ACCOUNTADMIN`` may, no more. Returns each
        statement's status. Statements are split with sqlglot's Snowflake dialect.
        """
        with self.connect(user=user) as conn:
            return [str(cursor.fetchone()[0]) for cursor in conn.execute_string(sql)]

    def databases(self) -> set[str]:
        """Names of all databases."""
        return set(self.catalog.names())

    def schemas(self, database: str) -> set[str]:
        """Schemas of ``database`` (without INFORMATION_SCHEMA)."""
        return self.catalog.schemas(database)

    def tables(self, database: str) -> set[str]:
        """Base tables of ``database`` as ``"SCHEMA.TABLE"``."""
        return self.catalog.tables(database)

    def read_table(self, name: str) -> pd.DataFrame:
        """All rows of table ``"DB.SCHEMA.TABLE"`` via ``fetch_pandas_all`` (upper-case column names).

        This is the connector's Arrow path, not the I/O manager's ``pd.read_sql``: BIGINT columns come back
        int64 (float64 if they hold NULLs), VARCHAR object, TIMESTAMP_NTZ datetime64[us].
        """
        if not _QUALIFIED_NAME.fullmatch(name):
            raise ValueError(f"expected an unquoted DATABASE.SCHEMA.TABLE name, got {name!r}")
        with self.connect() as conn:
            return conn.cursor().execute(f"SELECT * FROM {name}").fetch_pandas_all()

    def create_database(self, name: str) -> None:
        """Create an empty database now, named as the unquoted identifier would be (upper case)."""
        if self.catalog.exists(name):
            raise ValueError(f"database {name!r} already exists")
        self.catalog.create(name.upper())

    def database_created_on(self, name: str) -> datetime:
        """The ``created_on`` that ``SHOW DATABASES`` reports for ``name`` (timezone-aware, UTC)."""
        return self.catalog.created_on(self.catalog.resolve(name))

    def set_database_created_on(self, name: str, created_on: datetime) -> None:
        """Back-date a database, e.g. to make a clone look stale to the sweeper (test-only).

        ``created_on`` is what ``SHOW DATABASES`` and ``INFORMATION_SCHEMA.DATABASES`` report from then on;
        a naive datetime is taken as UTC. Raises ``KeyError`` for an unknown database.
        """
        self.catalog.set_created_on(name, created_on)


@contextmanager
def snowflake_emulator(
    db_path: Path | None = None,
    *,
    databases: Iterable[str] = (),
    create_database_on_connect: bool = False,
    create_schema_on_connect: bool = False,
) -> Iterator[SnowflakeEmulator]:
    """Run the Snowflake emulator for the duration of the ``with`` block.

    Args:
        db_path: keep each database in ``<db_path>/<NAME>.db`` (created if missing). Databases already
            there are attached on start, so a later emulator on the same directory sees them (one process
            at a time: DuckDB locks its files). None keeps everything in memory. Either way every connection
            shares one DuckDB instance, so writes through one connection are visible to all later ones.
        databases: databases to create (empty, upper-cased names) before yielding, e.g. ``("PRODUCTION",)``.
        create_database_on_connect / create_schema_on_connect: fakesnow's conveniences that create the
            database/schema a connection names; off by default because Snowflake does neither.
    """
    if db_path is not None:
        db_path.mkdir(parents=True, exist_ok=True)
    catalog = EmulatorCatalog(db_path)
    access = AccessControl(catalog)
    with (
        compat_patches(catalog, access),
        fakesnow.patch(
            # imports dagster_snowflake_pandas (seconds) if no test has yet
            extra_targets=[TYPE_HANDLER_WRITE_PANDAS],
            create_database_on_connect=create_database_on_connect,
            create_schema_on_connect=create_schema_on_connect,
            db_path=db_path,
        ),
    ):
        emulator = SnowflakeEmulator(catalog, access)
        try:
            emulator.connect().close()  # binds the catalog to fakesnow's DuckDB and attaches db_path files
            for name in databases:
                if not catalog.exists(name):
                    emulator.create_database(name)
            yield emulator
        finally:
            catalog.close_connections()

"""Compatibility patches that let the real dagster-snowflake code run unmodified on fakesnow 0.12.x.

Each gap is bridged here, in one place, by subclassing fakesnow's connection and cursor (used only while an
emulator is active) or by wrapping a fakesnow function; production code paths are never changed.

| Gap in fakesnow 0.12.1                                        | Bridged by                                     |
|---------------------------------------------------------------|------------------------------------------------|
| missing table/schema/database errors use DuckDB's wording     | ``_snowflake_errors.snowflake_error``          |
| ``write_pandas`` imported by name in dagster_snowflake_pandas | ``TYPE_HANDLER_WRITE_PANDAS`` (extra target)   |
| fake ``write_pandas`` raises raw DuckDB exceptions            | ``write_pandas``                               |
| ``DROP DATABASE`` does not parse                              | ``EmulatorCursor._drop_database``              |
| ``CREATE DATABASE .. CLONE`` is empty, ``OR REPLACE`` fails   | ``EmulatorCursor._create_database``            |
| ``CREATE SCHEMA .. CLONE`` does not parse                     | ``EmulatorCursor._create_schema_clone``        |
| ``SHOW DATABASES``: created_on is 1970, LIKE/TERSE ignored    | ``show_databases_sql``                         |
| ``INFORMATION_SCHEMA.DATABASES``: 1970, loses its ``DB.``     | ``_information_schema_databases``              |
| ``SHOW SCHEMAS LIKE`` ignores LIKE                            | ``EmulatorCursor._transform``                  |
| ``DESCRIBE TABLE DB.S.T`` fails without a current database    | ``describe_table``                             |
| ``ALTER TABLE .. SWAP WITH`` does not parse                   | ``EmulatorCursor._swap_tables``                |
| ``RENAME TO`` another schema renames the table in place       | ``EmulatorCursor._refuse_a_move`` (refused)    |
| DDL after an explicit ``BEGIN`` (autocommit on) stays in it   | ``EmulatorCursor._end_transaction_before_ddl`` |
| connections must reach the emulator's catalog                 | ``emulator_connect`` (``FakeSnow.connect``)    |
| no roles, users, ownership nor privileges                     | ``EmulatorConnection.access``, see below       |

Access control (``hn_testing._access_control``) is enforced here: every connection opens an ``AccessSession`` from
its ``user``/``role``/``warehouse`` arguments; access-control statements (``USE ROLE``, ``GRANT`` ...) run against the
model instead of DuckDB; every other statement is checked by ``hn_testing._authorization`` before it runs, and what
it creates, drops, clones, renames or swaps is recorded once it succeeded.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import duckdb
import fakesnow.fakes
import sqlglot
from fakesnow import transforms
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.instance import FakeSnow
from fakesnow.pandas_tools import write_pandas as fakesnow_write_pandas
from fakesnow.params import MutableParams
from snowflake.connector.cursor import DictCursor, SnowflakeCursor
from snowflake.connector.errors import ProgrammingError
from sqlglot import exp

from hn_testing._access_control import DEFAULT_OWNER, AccessControl, AccessSession, open_session
from hn_testing._access_statements import (
    AccessStatement,
    AccessStatementError,
    Securable,
    UseRole,
    UseSecondaryRoles,
    UseWarehouse,
    parse_access_statement,
)
from hn_testing._authorization import Authorized, Authorizer
from hn_testing._emulator_catalog import DATABASES_VIEW, REGISTRY_TABLE, EmulatorCatalog, is_database_sql
from hn_testing._snowflake_errors import already_exists, does_not_exist, snowflake_error

# dagster_snowflake_pandas does `from snowflake.connector.pandas_tools import write_pandas`, so patching the
# connector module alone leaves the I/O manager calling the real function.
TYPE_HANDLER_WRITE_PANDAS = "dagster_snowflake_pandas.snowflake_pandas_type_handler.write_pandas"


# -- SHOW DATABASES ----------------------------------------------------------------------------------


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def show_databases_sql(show: exp.Show, current_database: str | None, owners: dict[str, str]) -> exp.Expr:
    """``SHOW [TERSE] DATABASES [LIKE ..] [STARTS WITH ..] [LIMIT n]`` with real created_on values and owners.

    fakesnow reports created_on as 1970-01-01 for every database and ignores LIKE, STARTS WITH and TERSE;
    a sweeper that drops clones by age needs all of them. Rows come from the catalog's registry; ``owners``
    maps database names to their owning role.
    """
    created_on = "coalesce(r.created_on, to_timestamp(0))"
    owner = owner_sql("d.database_name", owners)
    if show.args.get("terse"):
        columns = (
            f"{created_on} AS created_on, d.database_name AS name, 'STANDARD' AS kind, "
            "NULL::VARCHAR AS database_name, NULL::VARCHAR AS schema_name"
        )
    else:
        current = _literal(current_database or "")
        columns = (
            f"{created_on} AS created_on, d.database_name AS name, 'N' AS is_default, "
            f"CASE WHEN upper(d.database_name) = upper({current}) THEN 'Y' ELSE 'N' END AS is_current, "
            f"'' AS origin, {owner} AS owner, d.comment AS comment, '' AS options, 1 AS retention_time, "
            "'STANDARD' AS kind, NULL::VARCHAR AS budget, 'ROLE' AS owner_role_type, "
            "NULL::VARCHAR AS object_visibility"
        )
    where = ["NOT d.internal", is_database_sql("d.database_name")]
    if isinstance(like := show.args.get("like"), exp.Literal):
        where.append(f"d.database_name ILIKE {_literal(like.name)}")
    if isinstance(starts_with := show.args.get("starts_with"), exp.Literal):
        where.append(f"starts_with(d.database_name, {_literal(starts_with.name)})")
    limit = show.args.get("limit")
    limit_sql = f"LIMIT {int(limit.expression.name)}" if isinstance(limit, exp.Limit) else ""
    sql = (
        f"SELECT {columns} FROM duckdb_databases() AS d "
        f"LEFT JOIN {REGISTRY_TABLE} AS r ON r.database_name = d.database_name "
        f"WHERE {' AND '.join(where)} ORDER BY d.database_name {limit_sql}"
    )
    return sqlglot.parse_one(sql, read="duckdb")


def owner_sql(column: str, owners: dict[str, str]) -> str:
    """SQL for the owner role of the database named in ``column``: from ``owners`` (upper-case names), else the
    owner of databases the access-control model never saw created."""
    whens = "".join(f"WHEN upper({column}) = {_literal(name)} THEN {_literal(r)} " for name, r in owners.items())
    return f"CASE {whens}ELSE {_literal(DEFAULT_OWNER)} END" if whens else _literal(DEFAULT_OWNER)


# -- DESCRIBE TABLE ----------------------------------------------------------------------------------

_fakesnow_describe_table = transforms.describe_table


def describe_table(
    expression: exp.Expr, current_database: str | None = None, current_schema: str | None = None
) -> exp.Expr:
    """fakesnow's DESCRIBE TABLE rewrite, reading column metadata from the global catalog.

    fakesnow reads ``_fs_information_schema._fs_columns`` of the *current* database, so ``DESCRIBE TABLE
    DB.SCHEMA.T`` on a session without a current database fails with a raw DuckDB CatalogException. The
    global view holds the same rows for every database and the query already filters on the database.
    """
    described = _fakesnow_describe_table(expression, current_database, current_schema)
    for table in described.find_all(exp.Table):
        if not table.catalog and table.db.lower() == "_fs_information_schema" and table.name.lower() == "_fs_columns":
            table.set("catalog", exp.to_identifier("_fs_global"))
    return described


# -- connection and cursor ---------------------------------------------------------------------------


def _information_schema_databases(node: exp.Expr, owners: dict[str, str]) -> exp.Expr:
    """Point ``[DB.]INFORMATION_SCHEMA.DATABASES`` at the emulator's view of all databases, with their owners.

    fakesnow's own view reports created_on as 1970-01-01 and ``SYSADMIN`` as every database's owner, and its rewrite
    drops the ``DB.`` qualifier, so the qualified form fails on a session without a current database.
    ``DATABASE_OWNER`` is the owner role the access-control model records, as ``SHOW DATABASES`` reports it.
    """
    if isinstance(node, exp.Table) and node.db.upper() == "_FS_INFORMATION_SCHEMA" and node.name.upper() == "DATABASES":
        owned = sqlglot.parse_one(
            f"SELECT * REPLACE ({owner_sql('database_name', owners)} AS DATABASE_OWNER) FROM {DATABASES_VIEW}",
            read="duckdb",
        )
        return owned.subquery(node.alias or "databases")
    return node


def _is_database_ddl(expression: exp.Expr, kind: type[exp.Expr]) -> bool:
    return isinstance(expression, kind) and str(expression.args.get("kind") or "").upper() == "DATABASE"


def _is_schema_clone(expression: exp.Expr) -> bool:
    return (
        isinstance(expression, exp.Create)
        and str(expression.args.get("kind") or "").upper() == "SCHEMA"
        and isinstance(expression.args.get("clone"), exp.Clone)
    )


#: Statements Snowflake runs as their own transaction, committing any open one first
#: (https://docs.snowflake.com/en/sql-reference/transactions#ddl).
_DDL = (exp.Alter, exp.Create, exp.Drop, exp.Comment, exp.Grant, exp.Revoke)


def _swap_with(expression: exp.Expr) -> exp.SwapTable | None:
    if isinstance(expression, exp.Alter):
        return next(
            (action for action in expression.args.get("actions") or [] if isinstance(action, exp.SwapTable)), None
        )
    return None


def _renamed_to(expression: exp.Expr) -> exp.Table | None:
    """The new name of ``ALTER TABLE .. RENAME TO <new name>``, else None."""
    if isinstance(expression, exp.Alter):
        for action in expression.args.get("actions") or []:
            if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                return action.this
    return None


def _status(message: str) -> exp.Expr:
    return sqlglot.parse_one(f"SELECT {_literal(message)} AS status", read="duckdb")


class EmulatorConnection(FakeSnowflakeConnection):
    """A fakesnow connection that knows its emulator's catalog and access control, and hands out ``EmulatorCursor``s.

    ``access`` is the session's access control: who connected, with which roles and warehouse. A ``database`` or
    ``schema`` argument the session may not use is not made current, as in Snowflake.
    """

    def __init__(self, catalog: EmulatorCatalog, control: AccessControl, *args: Any, **kwargs: Any) -> None:
        self.catalog = catalog
        self.access: AccessSession = open_session(
            control, kwargs.get("user"), kwargs.get("role"), kwargs.get("warehouse"), kwargs.get("account")
        )
        super().__init__(*args, **kwargs)
        catalog.track(self)
        self.explicit_transaction = False  # a BEGIN is open (fakesnow tracks this only with autocommit off)
        if kwargs.get("create_database") and self.database:
            # fakesnow may just have created the connection's database; give it a created_on.
            catalog.sync()
        self._leave_what_the_session_may_not_use()

    def _leave_what_the_session_may_not_use(self) -> None:
        if not self.database_set or self.access.unrestricted or self.database is None:
            return
        if not self.access.uses(Securable("DATABASE", self.database.upper())):
            self.forget_database()
        elif (
            self.schema_set
            and self.schema
            and not self.access.uses(Securable("SCHEMA", f"{self.database}.{self.schema}".upper()))
        ):
            self.use_database(self.database)

    def cursor(self, cursor_class: type[SnowflakeCursor] = SnowflakeCursor) -> EmulatorCursor:
        """Same as fakesnow's, with the compatibility cursor (fakesnow's own internals use it too)."""
        return EmulatorCursor(conn=self, duck_conn=self._duck_conn, use_dict_result=cursor_class == DictCursor)

    def forget_database(self) -> None:
        """Leave a dropped current database: Snowflake sessions then have no current database or schema.

        Without this, every later statement on the connection fails, because DuckDB keeps resolving names
        against the detached catalog.
        """
        if not self._is_closed:
            self._duck_conn.execute("SET schema = 'memory.main'")
        self.database = None
        self._schema = None
        self.database_set = False
        self.schema_set = False

    def use_database(self, name: str) -> None:
        """Make ``name`` the current database, as Snowflake does after CREATE DATABASE (with or without CLONE)."""
        self._duck_conn.execute(f"SET schema = {_literal(name + '.main')}")
        self.database = name
        self._schema = None
        self.database_set = True
        self.schema_set = False


def _session_functions(node: exp.Expr, session: AccessSession) -> exp.Expr:
    """``CURRENT_ROLE()``, ``CURRENT_SECONDARY_ROLES()`` and ``CURRENT_USER()`` as the session knows them."""
    if isinstance(node, exp.CurrentRole):
        return exp.Literal.string(session.primary_role)
    if isinstance(node, exp.CurrentSecondaryRoles):
        secondary = session.secondary_roles
        roles = (
            ",".join(sorted(session.user.roles if session.user else ())) if secondary == "ALL" else ",".join(secondary)
        )
        value = "ALL" if secondary == "ALL" else ""
        return exp.Literal.string(f'{{"roles":"{roles}","value":"{value}"}}')
    if isinstance(node, exp.CurrentUser):
        return exp.Literal.string(session.user.name if session.user else "")
    return node


class EmulatorCursor(FakeSnowflakeCursor):
    """fakesnow's cursor plus database-level DDL, SHOW fixes, Snowflake error wording and access control."""

    _conn: EmulatorConnection
    #: What the statement being run was authorized with (its effect runs once the statement succeeded).
    _authorized: Authorized = Authorized()

    def check_db_and_schema(self, expression: exp.Expr) -> None:
        """Access-control statements name roles, users and warehouses, never tables: no current database needed."""
        if isinstance(expression, (exp.Grant, exp.Revoke, exp.Command, exp.Use)) and _access_statement(expression):
            return
        super().check_db_and_schema(expression)

    def _transform(self, expression: exp.Expr, params: MutableParams | None) -> exp.Expr:
        """Route the statements fakesnow gets wrong; everything else goes through fakesnow unchanged."""
        session = self._conn.access
        if (statement := _access_statement(expression)) is not None:
            if not isinstance(statement, (UseRole, UseSecondaryRoles, UseWarehouse)):
                self._commit_open_transaction()
            return _status(session.execute(statement))
        authorized = Authorizer(session, self._conn.catalog, self._conn.database, self._conn.schema).authorize(
            expression
        )
        self._authorized = authorized
        expression = expression.transform(_session_functions, session=session, copy=False)
        transformed = self._fakesnow_transform(expression, params)
        if authorized.visible is not None:
            transformed = exp.select("*").from_(transformed.subquery("shown")).where(authorized.visible)
        return transformed

    def _fakesnow_transform(self, expression: exp.Expr, params: MutableParams | None) -> exp.Expr:
        owners = self._conn.access.control.database_owners()
        if isinstance(expression, exp.Show) and expression.name.upper() == "DATABASES":
            return show_databases_sql(expression, self._conn.database, owners)
        if _is_database_ddl(expression, exp.Create) or _is_schema_clone(expression):
            # fakesnow's create_database transform would drop CLONE and OR REPLACE; keep the statement and
            # only resolve IDENTIFIER(..) and unquoted case, then run it in _create_database.
            return expression.transform(lambda e: transforms.identifier(e, params), copy=False).transform(
                transforms.upper_case_unquoted_identifiers, copy=False
            )
        like = expression.args.get("like") if isinstance(expression, exp.Show) else None
        is_show_schemas = isinstance(expression, exp.Show) and expression.name.upper() == "SCHEMAS"
        transformed = super()._transform(expression, params)
        if is_show_schemas and isinstance(like, exp.Literal) and isinstance(transformed, exp.Select):
            # fakesnow ignores LIKE here, so the I/O manager's `show schemas like 'X' in database D` finds
            # INFORMATION_SCHEMA and never creates schema X.
            transformed = transformed.where(f"name ILIKE {_literal(like.name)}", dialect="duckdb", copy=False)
        return transformed.transform(_information_schema_databases, owners, copy=False)

    def _execute(self, transformed: exp.Expr, params: MutableParams | None = None) -> None:
        authorized, self._authorized = self._authorized, Authorized()
        self._execute_statement(transformed, params, authorized)
        if authorized.effect is not None:
            authorized.effect()

    def _execute_statement(self, transformed: exp.Expr, params: MutableParams | None, authorized: Authorized) -> None:
        self._end_transaction_before_ddl(transformed)
        if swap := _swap_with(transformed):
            self._swap_tables(transformed.this, swap.this)
            return
        if (new_name := _renamed_to(transformed)) is not None:
            self._refuse_a_move(transformed.this, new_name)
        if _is_database_ddl(transformed, exp.Create):
            self._create_database(transformed, authorized.not_cloned)
            return
        if _is_schema_clone(transformed):
            self._create_schema_clone(transformed, authorized.not_cloned)
            return
        if _is_database_ddl(transformed, exp.Drop):
            self._drop_database(transformed)
            return
        try:
            super()._execute(transformed, params)
        except ProgrammingError as error:
            reworded = snowflake_error(
                str(error.msg), transformed, self._conn.catalog, self._conn.database, self._conn.schema
            )
            if reworded is None:
                raise
            raise reworded from error

    def _commit_open_transaction(self) -> None:
        """Access-control DDL (GRANT, CREATE ROLE ...) commits an open transaction first, as any DDL does."""
        conn = self._conn
        if conn.explicit_transaction or not conn._autocommit:
            self._duck_conn.commit()
            conn.explicit_transaction = False
            conn._in_transaction = False

    def _end_transaction_before_ddl(self, transformed: exp.Expr) -> None:
        """Commit an explicit transaction before DDL, as Snowflake does whatever the autocommit setting.

        fakesnow does it only with autocommit off; with it on (the connector's default) DDL after ``BEGIN`` would
        stay inside DuckDB's transaction and roll back with it, hiding code that relies on transactional DDL.
        """
        conn = self._conn
        if isinstance(transformed, exp.Transaction):
            conn.explicit_transaction = True
        elif isinstance(transformed, (exp.Commit, exp.Rollback)):
            conn.explicit_transaction = False
        elif conn.explicit_transaction and (isinstance(transformed, _DDL) or transformed.args.get("create_stage_name")):
            self._duck_conn.commit()
            conn.explicit_transaction = False

    def _swap_tables(self, table: exp.Table, other: exp.Table) -> None:
        """``ALTER TABLE a SWAP WITH b``: both must exist; they exchange names (content, columns, metadata)."""
        conn = self._conn
        names = []
        for part in (table, other):
            database, schema = part.catalog or conn.database, part.db or conn.schema
            if not database or not schema or conn.catalog.missing_part(database, schema, part.name):
                raise does_not_exist("Table", ".".join(p for p in (part.catalog, part.db, part.name) if p))
            names.append((database, schema, part.name))
        self._commit_before_ddl()
        conn.catalog.swap_tables(names[0], names[1])
        super()._execute(_status("Statement executed successfully."))

    def _refuse_a_move(self, table: exp.Table, new_name: exp.Table) -> None:
        """``RENAME TO`` another schema moves the table in Snowflake; DuckDB would rename it where it is, so the
        emulator refuses rather than leave it in the wrong schema."""
        conn = self._conn

        def schema_of(name: exp.Table) -> tuple[str, str]:
            return (name.catalog or conn.database or "").upper(), (name.db or conn.schema or "").upper()

        if (new_name.catalog or new_name.db) and schema_of(new_name) != schema_of(table):
            raise NotImplementedError("the emulator renames a table within its own schema only (DuckDB cannot move it)")

    def _commit_before_ddl(self) -> None:
        """Snowflake commits an open transaction before any DDL; fakesnow does so in its own _execute."""
        if not self._conn._autocommit:
            self._duck_conn.commit()
            self._conn._in_transaction = False

    def _create_database(self, create: exp.Create, not_cloned: tuple[Securable, ...] = ()) -> None:
        """``CREATE [OR REPLACE] DATABASE [IF NOT EXISTS] X [CLONE Y]`` with Snowflake's semantics.

        fakesnow turns this into a DuckDB ATTACH: a clone comes out empty and OR REPLACE fails because the
        catalog is already attached. Here a clone copies every schema, table (with rows) and view of Y but
        ``not_cloned`` (what the cloning role may not clone), OR REPLACE replaces X atomically (a clone that fails
        leaves X as it was), an existing X without OR REPLACE / IF NOT EXISTS is an error, and X becomes the
        session's current database.
        """
        name = create.this.name
        clone = create.args.get("clone")
        source = clone.this.name if isinstance(clone, exp.Clone) else None
        catalog = self._conn.catalog
        self._commit_before_ddl()
        if catalog.exists(name):
            if create.args.get("exists"):
                super()._execute(_status(f"{name} already exists, statement succeeded."))
                return
            if not create.args.get("replace"):
                raise already_exists(name)
        if source is not None:
            if not catalog.exists(source):
                raise does_not_exist("Database", source)
            if source.upper() == name.upper():
                raise ProgrammingError(
                    msg=f"SQL compilation error:\nCannot clone database '{name}' into itself.",
                    errno=2002,
                    sqlstate="42710",
                )
        if source is not None and catalog.exists(name):
            catalog.replace_with_clone(source, name, not_cloned)
        elif source is not None:
            catalog.clone(source, name, not_cloned)
        else:
            if catalog.exists(name):
                catalog.drop(name)
            catalog.create(name)
        self._conn.use_database(name)
        super()._execute(_status(f"Database {name} successfully created."))

    def _create_schema_clone(self, create: exp.Create, not_cloned: tuple[Securable, ...] = ()) -> None:
        """``CREATE [OR REPLACE] SCHEMA [IF NOT EXISTS] [D.]X CLONE [D.]Y`` within one database, tables with rows
        (but ``not_cloned``, what the cloning role may not clone); OR REPLACE is atomic."""
        target, source = create.this, create.args["clone"].this
        database = (target.catalog or self._conn.database or "").upper()
        source_database = (source.db or self._conn.database or "").upper()
        name, source_name = target.db.upper(), source.name.upper()
        if source_database != database:
            raise NotImplementedError("the emulator clones a schema within its own database only")
        catalog = self._conn.catalog
        self._commit_before_ddl()
        schemas = {schema.upper() for schema in catalog.schemas(database)}
        if source_name not in schemas:
            raise does_not_exist("Schema", f"{database}.{source_name}")
        if name in schemas:
            if create.args.get("exists"):
                super()._execute(_status(f"{name} already exists, statement succeeded."))
                return
            if not create.args.get("replace"):
                raise already_exists(name)
        catalog.clone_schema(database, source_name, name, replace=name in schemas, left_out=not_cloned)
        super()._execute(_status(f"Schema {name} successfully created."))

    def _drop_database(self, drop: exp.Drop) -> None:
        """``DROP DATABASE [IF EXISTS] X``: fakesnow cannot parse it; drop every schema and table of X."""
        table = drop.find(exp.Table)
        assert table is not None, drop.sql()
        name = table.name
        self._commit_before_ddl()
        if not self._conn.catalog.exists(name):
            if drop.args.get("exists"):
                super()._execute(_status(f"Drop statement executed successfully ({name} already dropped)."))
                return
            raise does_not_exist("Database", name)
        self._conn.catalog.drop(name)
        super()._execute(_status(f"{name} successfully dropped."))


def _access_statement(expression: exp.Expr) -> AccessStatement | None:
    try:
        return parse_access_statement(expression)
    except AccessStatementError as error:
        raise ProgrammingError(msg=f"SQL compilation error:\n{error}", errno=1003, sqlstate="42000") from error


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

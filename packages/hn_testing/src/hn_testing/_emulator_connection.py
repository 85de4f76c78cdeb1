"""The emulator's connection and cursor: fakesnow's, with the emulator's catalog and access control in every statement.

Every connection opens an ``AccessSession`` from its ``user``/``role``/``warehouse`` arguments
(``hn_testing._access_session``). Access-control statements (``USE ROLE``, ``GRANT`` ...) run against the model
instead of DuckDB (``hn_testing._access_statement_runner``); every other statement is checked by
``hn_testing._authorization`` before it runs, and what it creates, drops, clones, renames or swaps is recorded once it
succeeded. Database-level DDL that fakesnow cannot run (``CREATE DATABASE .. CLONE``, ``DROP DATABASE``, ``CREATE
SCHEMA .. CLONE``, ``ALTER TABLE .. SWAP WITH``) runs on the emulator's catalog (``hn_testing._emulator_catalog``,
``hn_testing._database_copies``).
"""

from __future__ import annotations

from typing import Any

from fakesnow import transforms
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.cursor import FakeSnowflakeCursor
from fakesnow.params import MutableParams
from snowflake.connector.cursor import DictCursor, SnowflakeCursor
from snowflake.connector.errors import ProgrammingError
from sqlglot import exp

from hn_testing._access_control import AccessControl
from hn_testing._access_session import AccessSession, open_session
from hn_testing._access_statement_runner import run_access_statement
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
from hn_testing._database_copies import clone_database, clone_schema, replace_with_clone, swap_tables
from hn_testing._emulator_catalog import EmulatorCatalog
from hn_testing._fakesnow_rewrites import (
    information_schema_databases,
    literal,
    session_functions,
    show_databases_sql,
    status_sql,
)
from hn_testing._snowflake_errors import already_exists, does_not_exist, snowflake_error


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
        self._duck_conn.execute(f"SET schema = {literal(name + '.main')}")
        self.database = name
        self._schema = None
        self.database_set = True
        self.schema_set = False


class EmulatorCursor(FakeSnowflakeCursor):
    """fakesnow's cursor plus database-level DDL, SHOW fixes, Snowflake error wording and access control."""

    _conn: EmulatorConnection
    #: What the statement being run was authorized with (its effect runs once the statement succeeded).
    _authorized: Authorized = Authorized()

    def check_db_and_schema(self, expression: exp.Expr) -> None:
        """Access-control statements name roles, users and warehouses, never tables: no current database needed."""
        if isinstance(expression, (exp.Grant, exp.Revoke, exp.Command, exp.Use)) and access_statement(expression):
            return
        super().check_db_and_schema(expression)

    def _transform(self, expression: exp.Expr, params: MutableParams | None) -> exp.Expr:
        """Route the statements fakesnow gets wrong; everything else goes through fakesnow unchanged."""
        session = self._conn.access
        if (statement := access_statement(expression)) is not None:
            if not isinstance(statement, (UseRole, UseSecondaryRoles, UseWarehouse)):
                self._commit_open_transaction()
            return status_sql(run_access_statement(session, statement))
        authorized = Authorizer(session, self._conn.catalog, self._conn.database, self._conn.schema).authorize(
            expression
        )
        self._authorized = authorized
        expression = expression.transform(session_functions, session=session, copy=False)
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
            transformed = transformed.where(f"name ILIKE {literal(like.name)}", dialect="duckdb", copy=False)
        return transformed.transform(information_schema_databases, owners, copy=False)

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
        swap_tables(conn.catalog, names[0], names[1])
        super()._execute(status_sql("Statement executed successfully."))

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
                super()._execute(status_sql(f"{name} already exists, statement succeeded."))
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
            replace_with_clone(catalog, source, name, not_cloned)
        elif source is not None:
            clone_database(catalog, source, name, not_cloned)
        else:
            if catalog.exists(name):
                catalog.drop(name)
            catalog.create(name)
        self._conn.use_database(name)
        super()._execute(status_sql(f"Database {name} successfully created."))

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
                super()._execute(status_sql(f"{name} already exists, statement succeeded."))
                return
            if not create.args.get("replace"):
                raise already_exists(name)
        clone_schema(catalog, database, source_name, name, replace=name in schemas, left_out=not_cloned)
        super()._execute(status_sql(f"Schema {name} successfully created."))

    def _drop_database(self, drop: exp.Drop) -> None:
        """``DROP DATABASE [IF EXISTS] X``: fakesnow cannot parse it; drop every schema and table of X."""
        table = drop.find(exp.Table)
        assert table is not None, drop.sql()
        name = table.name
        self._commit_before_ddl()
        if not self._conn.catalog.exists(name):
            if drop.args.get("exists"):
                super()._execute(status_sql(f"Drop statement executed successfully ({name} already dropped)."))
                return
            raise does_not_exist("Database", name)
        self._conn.catalog.drop(name)
        super()._execute(status_sql(f"{name} successfully dropped."))


def access_statement(expression: exp.Expr) -> AccessStatement | None:
    """The access-control statement ``expression`` is, or None; one that does not parse fails as Snowflake's do."""
    try:
        return parse_access_statement(expression)
    except AccessStatementError as error:
        raise ProgrammingError(msg=f"SQL compilation error:\n{error}", errno=1003, sqlstate="42000") from error

"""Which privileges each data statement needs, and what it changes about ownership once it succeeded.

The rules follow Snowflake's "Access control requirements" of each command and its privilege reference
(https://docs.snowflake.com/en/user-guide/security-access-control-privileges):

| statement                                   | needs                                                             |
|---------------------------------------------|-------------------------------------------------------------------|
| SELECT (and the query inside any statement) | SELECT on every table and view read; a warehouse                  |
| INSERT / UPDATE / DELETE / MERGE / COPY     | that privilege on the target table; a warehouse                   |
| TRUNCATE TABLE                              | TRUNCATE on the table                                             |
| CREATE TABLE / VIEW (and CTAS, CLONE)       | CREATE TABLE / CREATE VIEW on the schema                          |
| CREATE SCHEMA [CLONE source]                | CREATE SCHEMA on the database; USAGE on the source schema (its    |
|                                             | tables keep their owners and grants)                              |
| CREATE DATABASE [CLONE source]              | CREATE DATABASE on the account; USAGE on the source               |
| OR REPLACE of an existing object, DROP      | OWNERSHIP of the object                                           |
| ALTER TABLE ... SWAP WITH / other actions   | OWNERSHIP of the table (of both, to swap)                         |
| ALTER TABLE ... RENAME TO                   | OWNERSHIP of the table and CREATE TABLE on the schema it ends in, |
|                                             | even when that is its own schema                                  |
| SHOW / DESCRIBE / USE                       | USAGE on the container; only visible objects are listed, every    |
|                                             | object to a role with MANAGE GRANTS                               |

Every object inside a database or schema also needs USAGE on both (``AccessSession.require``). A CREATE statement
takes all of its privileges from the primary role's hierarchy, any other statement from every active role's
(``AccessSession.create_statement``). A database or schema clone leaves out the children its role may not clone.
Created objects belong to the session's primary role; a swap or rename keeps each table's grants, as Snowflake does.

Pages: https://docs.snowflake.com/en/sql-reference/sql/alter-table ("To rename a table or swap two tables, the role
used to perform the operation must have OWNERSHIP privileges on the table or tables. In addition, renaming a table
requires the CREATE TABLE privilege on the schema for the table."), .../sql-reference/sql/create-clone ("Access
control requirements", and "Cloning includes only the objects on which the role that creates the clone has
appropriate privileges"), .../sql-reference/sql/show-databases ("The MANAGE GRANTS access privilege implicitly allows
its holder to see every object in the account").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from hn_testing._access_session import AccessSession
from hn_testing._access_statements import Securable, object_name
from hn_testing._emulator_catalog import EmulatorCatalog
from hn_testing._snowflake_errors import no_current_context

Effect = Callable[[], None]


@dataclass(frozen=True)
class Authorized:
    """A statement the session may run: ``effect`` updates ownership after it succeeds; ``visible`` limits SHOW;
    ``not_cloned`` names the children of a cloned database or schema (as in the source) its role may not clone."""

    effect: Effect | None = None
    visible: exp.Expr | None = None
    not_cloned: tuple[Securable, ...] = ()


_NOTHING = Authorized()
_MODELLED_CREATE_KINDS = ("TABLE", "VIEW", "SCHEMA", "DATABASE")
_QUERIES = (exp.Select, exp.SetOperation)


class Authorizer:
    """Checks one statement of a session against the access-control model, before the emulator runs it."""

    def __init__(self, session: AccessSession, catalog: EmulatorCatalog, database: str | None, schema: str | None):
        self.session = session
        self.catalog = catalog
        self.database = database
        self.schema = schema

    # -- names --------------------------------------------------------------------------------------

    def relation(self, table: exp.Table) -> Securable | None:
        """The table or view ``table`` names, resolved against the session's current database and schema.

        None when it cannot be resolved or does not exist: the statement then fails (or does nothing) as it would
        for any role.
        """
        parts = self._parts(table)
        if parts is None:
            return None
        kind = self.catalog.relation_kind(*parts)
        return Securable(kind, ".".join(parts)) if kind else None

    def _parts(self, table: exp.Table) -> tuple[str, str, str] | None:
        """``(DATABASE, SCHEMA, NAME)`` of a table reference, or None for a table function or no context."""
        if not isinstance(table.this, exp.Identifier):
            return None  # a table function such as TABLE(RESULT_SCAN(..))
        schema = self._schema_of(table)
        return (*schema.parts, object_name(table.this).upper()) if schema else None  # type: ignore[return-value]

    def _database_of(self, table: exp.Table) -> str | None:
        database = object_name(table.args["catalog"]) if table.args.get("catalog") else self.database
        return database.upper() if database else None

    def _cloned_schema(self, table: exp.Table) -> Securable | None:
        """The source of ``CREATE SCHEMA .. CLONE [d.]s``: sqlglot reads it as a table ``s`` of database ``d``."""
        database = object_name(table.args["db"]).upper() if table.args.get("db") else self.database
        return Securable("SCHEMA", f"{database}.{table.name.upper()}") if database else None

    def _schema_of(self, table: exp.Table) -> Securable | None:
        """The schema a reference lives in (for ``CREATE SCHEMA d.s`` sqlglot puts ``s`` where schemas go too)."""
        database = self._database_of(table)
        schema = object_name(table.args["db"]) if table.args.get("db") else self.schema
        return Securable("SCHEMA", f"{database}.{schema.upper()}") if database and schema else None

    # -- checks -------------------------------------------------------------------------------------

    def reads(self, expression: exp.Expr, skip: exp.Table | None = None) -> bool:
        """Require SELECT on every table and view ``expression`` reads; True if it reads any."""
        ctes = {cte.alias_or_name.upper() for cte in expression.find_all(exp.CTE)}
        read_any = False
        for table in expression.find_all(exp.Table):
            if table is skip or not isinstance(table.this, exp.Identifier):
                continue
            if not table.args.get("db") and table.name.upper() in ctes:
                continue
            read_any = True
            if table.args.get("db") and object_name(table.args["db"]).upper() == "INFORMATION_SCHEMA":
                if database := self._database_of(table):
                    self.session.require("USAGE", Securable("DATABASE", database))
                continue
            if (relation := self.relation(table)) is not None:
                self.session.require("SELECT", relation, reading=True, exists=True)
        return read_any

    def writes(self, privilege: str, target: exp.Expr | None, expression: exp.Expr) -> Authorized:
        """DML: ``privilege`` on the target table, SELECT on what it reads, and a warehouse to run on."""
        table = target.this if isinstance(target, exp.Schema) else target
        if isinstance(table, exp.Table) and (relation := self.relation(table)) is not None:
            self.session.require(privilege, relation, exists=True)
        self.reads(expression, skip=table if isinstance(table, exp.Table) else None)
        self.session.require_warehouse()
        return _NOTHING

    # -- statements ---------------------------------------------------------------------------------

    def authorize(self, expression: exp.Expr) -> Authorized:
        """Refuse ``expression`` as Snowflake would, or say what to record once it has run."""
        if self.session.unrestricted and not isinstance(expression, (exp.Create, exp.Drop, exp.Alter)):
            return _NOTHING  # nothing to check, and only DDL changes who owns what
        if isinstance(expression, _QUERIES):
            if self.reads(expression):
                self.session.require_warehouse()
            return _NOTHING
        if isinstance(expression, exp.Insert):
            return self.writes("INSERT", expression.this, expression)
        if isinstance(expression, exp.Update):
            return self.writes("UPDATE", expression.this, expression)
        if isinstance(expression, exp.Delete):
            return self.writes("DELETE", expression.this, expression)
        if isinstance(expression, exp.Copy):
            return self.writes("INSERT", expression.this, expression)
        if isinstance(expression, exp.Merge):
            for privilege in self._merge_privileges(expression):
                self.writes(privilege, expression.this, expression)
            return _NOTHING
        if isinstance(expression, exp.TruncateTable):
            for table in expression.expressions:
                if isinstance(table, exp.Table) and (relation := self.relation(table)) is not None:
                    self.session.require("TRUNCATE", relation, exists=True)
            return _NOTHING
        if isinstance(expression, exp.Create):
            return self._create(expression)
        if isinstance(expression, exp.Drop):
            return self._drop(expression)
        if isinstance(expression, exp.Alter):
            return self._alter(expression)
        if isinstance(expression, exp.Show):
            return self._show(expression)
        if isinstance(expression, exp.Describe):
            table = expression.this
            if isinstance(table, exp.Table) and (relation := self.relation(table)) is not None:
                self.session.require("ANY", relation, exists=True)
            return _NOTHING
        if isinstance(expression, exp.Use):
            self._use(expression)
        return _NOTHING

    def _merge_privileges(self, merge: exp.Merge) -> list[str]:
        whens = merge.args.get("whens")
        clauses = whens.expressions if isinstance(whens, exp.Whens) else []
        privileges = []
        for when in clauses:
            then = when.args.get("then")
            if isinstance(then, exp.Insert):
                privileges.append("INSERT")
            elif isinstance(then, exp.Update):
                privileges.append("UPDATE")
            else:
                privileges.append("DELETE")
        return privileges or ["INSERT"]

    def _create(self, create: exp.Create) -> Authorized:
        kind = str(create.args.get("kind") or "").upper()
        if kind not in _MODELLED_CREATE_KINDS:
            if not self.session.unrestricted:
                raise NotImplementedError(f"access control for CREATE {kind} is not modelled by the emulator")
            return _NOTHING
        with self.session.create_statement():
            return self._create_object(create, kind)

    def _create_object(self, create: exp.Create, kind: str) -> Authorized:
        owner = self.session.primary_role
        replace = bool(create.args.get("replace"))
        if kind == "DATABASE":
            return self._create_database(create, owner, replace=replace)
        target = create.this.this if isinstance(create.this, exp.Schema) else create.this
        if not isinstance(target, exp.Table) or (schema := self._schema_of(target)) is None:
            return _NOTHING
        if kind == "SCHEMA":
            self.session.require("CREATE SCHEMA", Securable("DATABASE", schema.parts[0]))
            created, exists = schema, self.catalog.securable_exists(schema)
            existing = created
            clone = create.args.get("clone")
            if isinstance(clone, exp.Clone) and (source := self._cloned_schema(clone.this)) is not None:
                self.session.require("USAGE", source, exists=True)
                if exists and not create.args.get("replace"):
                    return _NOTHING
                if exists:
                    self.session.require("OWNERSHIP", existing, exists=True)
                control = self.session.control
                return Authorized(
                    effect=lambda: control.schema_cloned(source, created, owner), not_cloned=self._not_cloned(source)
                )
        else:
            parts = self._parts(target)
            if parts is None:
                return _NOTHING
            self.session.require(f"CREATE {kind}", schema)
            created = Securable(kind, ".".join(parts))
            existing_kind = self.catalog.relation_kind(*parts)
            exists = existing_kind is not None
            existing = Securable(existing_kind or kind, created.name)
            query = create.expression
            if isinstance(query, _QUERIES) and self.reads(query):
                self.session.require_warehouse()
            clone = create.args.get("clone")
            source = self.relation(clone.this) if isinstance(clone, exp.Clone) else None
            if source is not None:
                self.session.require("SELECT", source, reading=True, exists=True)
        if exists and not replace:
            return _NOTHING  # IF NOT EXISTS on an existing object (or an "already exists" error) changes nothing
        if exists:
            self.session.require("OWNERSHIP", existing, exists=True)
        control = self.session.control
        return Authorized(effect=lambda: control.created(created, owner))

    def _create_database(self, create: exp.Create, owner: str, *, replace: bool) -> Authorized:
        name = object_name(create.this).upper()
        database = Securable("DATABASE", name)
        clone = create.args.get("clone")
        source = object_name(clone.this).upper() if isinstance(clone, exp.Clone) else None
        if source is not None:
            self.session.require("USAGE", Securable("DATABASE", source))
        self.session.require("CREATE DATABASE", Securable("ACCOUNT", "ACCOUNT"))
        exists = self.catalog.exists(name)
        if exists and replace:
            self.session.require("OWNERSHIP", database, exists=True)
        if exists and not replace:
            return _NOTHING
        control = self.session.control
        if source is None:
            return Authorized(effect=lambda: control.created(database, owner))
        not_cloned = self._not_cloned(Securable("DATABASE", source))
        return Authorized(effect=lambda: control.cloned(source, name, owner), not_cloned=not_cloned)

    def _not_cloned(self, source: Securable) -> tuple[Securable, ...]:
        """The children of a database or schema that a clone of it leaves out: those its role may not clone.

        create-clone's "Access control requirements" ask USAGE of a schema and SELECT of a table; a view has no USAGE
        privilege, so it is cloned with SELECT, as a table. A schema left out takes everything in it along.
        """
        if self.session.unrestricted:
            return ()
        left_out: list[Securable] = []
        schemas = self.catalog.contents(source, "SCHEMA") if source.kind == "DATABASE" else [source]
        for schema in schemas:
            if source.kind == "DATABASE" and not self.session.uses(schema):
                left_out.append(schema)
                continue
            for kind in ("TABLE", "VIEW"):
                left_out += [r for r in self.catalog.contents(schema, kind) if not self.session.holds("SELECT", r)]
        return tuple(left_out)

    def _drop(self, drop: exp.Drop) -> Authorized:
        kind = str(drop.args.get("kind") or "").upper()
        dropped: list[Securable] = []
        for table in drop.args.get("tables") or [drop.this]:
            if not isinstance(table, exp.Table):
                continue
            securable: Securable | None
            if kind == "DATABASE":
                securable = Securable("DATABASE", object_name(table.this).upper())
            elif kind == "SCHEMA":
                securable = self._schema_of(table)
            elif kind in ("TABLE", "VIEW"):
                securable = self.relation(table)
            else:
                if not self.session.unrestricted:
                    raise NotImplementedError(f"access control for DROP {kind} is not modelled by the emulator")
                continue
            if securable is not None and self.catalog.securable_exists(securable):
                self.session.require("OWNERSHIP", securable, exists=True)
                dropped.append(securable)
        control = self.session.control

        def forget() -> None:
            for securable in dropped:
                control.dropped(securable)

        return Authorized(effect=forget) if dropped else _NOTHING

    def _alter(self, alter: exp.Alter) -> Authorized:
        kind = str(alter.args.get("kind") or "").upper()
        if kind != "TABLE" or not isinstance(alter.this, exp.Table):
            if kind in ("SCHEMA", "DATABASE", "VIEW") and not self.session.unrestricted:
                raise NotImplementedError(f"access control for ALTER {kind} is not modelled by the emulator")
            return _NOTHING
        table = self.relation(alter.this)
        if table is None:
            return _NOTHING
        self.session.require("OWNERSHIP", table, exists=True)
        actions = alter.args.get("actions") or []
        action = actions[0] if len(actions) == 1 else None
        if isinstance(action, exp.SwapTable) and isinstance(action.this, exp.Table):
            return self._swap(table, action.this)
        if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
            return self._rename(table, action.this)
        return _NOTHING

    def _swap(self, table: Securable, other_name: exp.Table) -> Authorized:
        other = self.relation(other_name)
        if other is None:
            return _NOTHING
        self.session.require("OWNERSHIP", other, exists=True)
        control = self.session.control
        return Authorized(effect=lambda: control.swapped(table, other))

    def _rename(self, table: Securable, new_name: exp.Table) -> Authorized:
        parts, destination = self._parts(new_name), self._schema_of(new_name)
        if parts is None or destination is None:
            return _NOTHING
        # alter-table: "renaming a table requires the CREATE TABLE privilege on the schema for the table", in every
        # case. ALTER is not CREATE <object>: any active role may hold it.
        self.session.require("CREATE TABLE", destination)
        renamed = Securable(table.kind, ".".join(parts))
        control = self.session.control
        return Authorized(effect=lambda: control.renamed(table, renamed))

    def _show(self, show: exp.Show) -> Authorized:
        what = show.name.upper()
        session = self.session
        if session.unrestricted or session.manages_grants():
            return _NOTHING  # MANAGE GRANTS "implicitly allows its holder to see every object in the account"
        if what == "DATABASES":
            visible = [n for n in self.catalog.names() if session.sees(Securable("DATABASE", n.upper()))]
            return Authorized(visible=_names_in("name", visible))
        if what not in ("SCHEMAS", "TABLES", "VIEWS", "OBJECTS", "COLUMNS"):
            return _NOTHING
        scope = show.args.get("scope")
        if str(show.args.get("scope_kind") or "").upper() in ("TABLE", "VIEW") and isinstance(scope, exp.Table):
            if (relation := self.relation(scope)) is not None:
                session.require("ANY", relation, exists=True)
            return _NOTHING
        database, schema = self._show_scope(show)
        if database is None:
            return _NOTHING
        session.require("USAGE", Securable("DATABASE", database))
        if what == "SCHEMAS":
            schemas = [
                s
                for s in self.catalog.schemas(database)
                if session.sees(Securable("SCHEMA", f"{database}.{s.upper()}"))
            ]
            return Authorized(visible=_names_in("name", schemas))
        if schema is not None:
            session.require("USAGE", Securable("SCHEMA", f"{database}.{schema}"))
        if what == "COLUMNS":
            return _NOTHING
        visible = [
            f"{found_schema}.{name}"
            for found_schema, name, kind in self.catalog.relations(database, schema)
            if session.uses(Securable("SCHEMA", f"{database}.{found_schema}"))
            and session.sees(Securable(kind, f"{database}.{found_schema}.{name}"))
        ]
        qualified = exp.func("concat", exp.column("schema_name"), exp.Literal.string("."), exp.column("name"))
        return Authorized(visible=_names_in(qualified, visible))

    def _show_scope(self, show: exp.Show) -> tuple[str | None, str | None]:
        """The database (and schema) a SHOW lists, from its IN clause or the session's current ones."""
        scope, kind = show.args.get("scope"), str(show.args.get("scope_kind") or "").upper()
        if kind == "ACCOUNT":
            return None, None
        if isinstance(scope, exp.Table) and kind == "DATABASE":
            return object_name(scope.this).upper(), None
        if isinstance(scope, exp.Table) and kind == "SCHEMA":
            database = object_name(scope.args["db"]) if scope.args.get("db") else self.database
            return (database.upper() if database else None), object_name(scope.this).upper()
        schema = None if show.name.upper() == "SCHEMAS" else self.schema
        return (self.database.upper() if self.database else None), (schema.upper() if schema else None)

    def _use(self, use: exp.Use) -> None:
        kind = str(use.args.get("kind") or "").upper()
        if kind not in ("DATABASE", "SCHEMA") or not isinstance(use.this, exp.Table) or self.session.unrestricted:
            return
        if kind == "DATABASE":
            securable = Securable("DATABASE", object_name(use.this.this).upper())
        else:
            database = object_name(use.this.args["db"]) if use.this.args.get("db") else self.database
            securable = Securable("SCHEMA", f"{database}.{object_name(use.this.this)}".upper())
        exists = self.catalog.securable_exists(securable)
        if exists and not all(self.session.uses(c) for c in (*_database_of(securable), securable)):
            raise no_current_context()


def _database_of(securable: Securable) -> tuple[Securable, ...]:
    return (Securable("DATABASE", securable.parts[0]),) if securable.kind == "SCHEMA" else ()


def _names_in(column: str | exp.Expr, names: list[str]) -> exp.Expr:
    """``upper(column) IN (...)``: the rows of a SHOW result the session may see (FALSE when none)."""
    if not names:
        return exp.false()
    value = exp.column(column) if isinstance(column, str) else column
    return exp.func("upper", value).isin(*(exp.Literal.string(n.upper()) for n in names))

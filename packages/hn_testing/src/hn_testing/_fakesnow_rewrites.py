"""SQL the emulator runs instead of fakesnow's own rewrite, where that rewrite differs from Snowflake.

Each function takes the statement (or one node of it) and returns DuckDB SQL: ``SHOW DATABASES`` with real created_on
values, owners and filters; ``DESCRIBE TABLE`` of a qualified name without a current database; ``[DB.]
INFORMATION_SCHEMA.DATABASES`` with real created_on values and owners; and the session functions
(``CURRENT_ROLE()`` ...) as the emulator's access session knows them. Why each is needed is in its docstring.
"""

from __future__ import annotations

import sqlglot
from fakesnow import transforms
from sqlglot import exp

from hn_testing._access_control import DEFAULT_OWNER
from hn_testing._access_session import AccessSession
from hn_testing._emulator_catalog import DATABASES_VIEW, REGISTRY_TABLE, is_database_sql


def literal(value: str) -> str:
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
        current = literal(current_database or "")
        columns = (
            f"{created_on} AS created_on, d.database_name AS name, 'N' AS is_default, "
            f"CASE WHEN upper(d.database_name) = upper({current}) THEN 'Y' ELSE 'N' END AS is_current, "
            f"'' AS origin, {owner} AS owner, d.comment AS comment, '' AS options, 1 AS retention_time, "
            "'STANDARD' AS kind, NULL::VARCHAR AS budget, 'ROLE' AS owner_role_type, "
            "NULL::VARCHAR AS object_visibility"
        )
    where = ["NOT d.internal", is_database_sql("d.database_name")]
    if isinstance(like := show.args.get("like"), exp.Literal):
        where.append(f"d.database_name ILIKE {literal(like.name)}")
    if isinstance(starts_with := show.args.get("starts_with"), exp.Literal):
        where.append(f"starts_with(d.database_name, {literal(starts_with.name)})")
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
    whens = "".join(f"WHEN upper({column}) = {literal(name)} THEN {literal(r)} " for name, r in owners.items())
    return f"CASE {whens}ELSE {literal(DEFAULT_OWNER)} END" if whens else literal(DEFAULT_OWNER)


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


def information_schema_databases(node: exp.Expr, owners: dict[str, str]) -> exp.Expr:
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


def session_functions(node: exp.Expr, session: AccessSession) -> exp.Expr:
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


def status_sql(message: str) -> exp.Expr:
    """A one-row result ``status``, as Snowflake answers a statement that returns no rows."""
    return sqlglot.parse_one(f"SELECT {literal(message)} AS status", read="duckdb")

"""Snowflake's wording for the errors the emulator raises: those fakesnow reports in DuckDB's words, and access
control's refusals.

Callers match on Snowflake's messages, e.g. dagster's ``SnowflakeDbClient.delete_table_slice`` ignores the
error of its pre-write ``DELETE`` only if it says "does not exist or not authorized".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from snowflake.connector.errors import ProgrammingError
from sqlglot import exp

if TYPE_CHECKING:
    from hn_testing._access_statements import Securable
    from hn_testing._emulator_catalog import EmulatorCatalog


def does_not_exist(kind: str, name: str) -> ProgrammingError:
    """Snowflake's error for a missing or inaccessible object (``kind`` is Database, Schema, Table or Object)."""
    sqlstate = "42S02" if kind in ("Table", "Object") else "02000"
    return ProgrammingError(
        msg=f"SQL compilation error:\n{kind} '{name}' does not exist or not authorized.",
        errno=2003,
        sqlstate=sqlstate,
    )


def invalid_identifier(name: str) -> ProgrammingError:
    """Snowflake's error for an unknown column, e.g. writing a frame with a column the table lacks."""
    return ProgrammingError(msg=f"SQL compilation error:\ninvalid identifier '{name}'", errno=904, sqlstate="42000")


_UNKNOWN_COLUMN = re.compile(
    r'does not have a column with name "(?P<insert>[^"]+)"|Referenced column "(?P<select>[^"]+)" not found'
)
_MISSING_OBJECT = re.compile(r"(Table|Schema|Catalog) with name .* does not exist|Catalog \".*\" does not exist")
_MISSING_CONTEXT = re.compile(r"SET schema: No catalog \+ schema named")


def snowflake_error(
    message: str,
    statement: exp.Expr | None,
    catalog: EmulatorCatalog,
    database: str | None,
    schema: str | None,
) -> ProgrammingError | None:
    """Reword a DuckDB "does not exist" or unknown-column error the way Snowflake words it, else None.

    DuckDB names the missing thing ambiguously ("schema NODB.S" for a missing database), so the statement's
    table references are checked against the catalog to find what is actually missing.
    """
    if match := _UNKNOWN_COLUMN.search(message):
        return invalid_identifier(match["insert"] or match["select"])
    if _MISSING_CONTEXT.search(message):
        return ProgrammingError(
            msg="SQL compilation error:\nObject does not exist, or operation cannot be performed.",
            errno=2043,
            sqlstate="02000",
        )
    if not _MISSING_OBJECT.search(message) or statement is None:
        return None
    for table in statement.find_all(exp.Table):
        if not table.name or table.db.upper() in ("_FS_INFORMATION_SCHEMA", "INFORMATION_SCHEMA"):
            continue
        db = table.catalog or database
        sch = table.db or schema
        if not db:
            continue
        missing = catalog.missing_part(db, sch, table.name)
        if missing == "database":
            return does_not_exist("Database", db)
        if missing == "schema":
            return does_not_exist("Schema", f"{db}.{sch}")
        if missing == "table":
            kind = "Object" if isinstance(statement, exp.Select) else "Table"
            return does_not_exist(kind, ".".join(p for p in (table.catalog, table.db, table.name) if p))
    return None


def already_exists(name: str) -> ProgrammingError:
    """Snowflake's error for creating an object that exists, without OR REPLACE or IF NOT EXISTS."""
    return ProgrammingError(
        msg=f"SQL compilation error:\nObject '{name}' already exists.", errno=2002, sqlstate="42710"
    )


def insufficient_privileges(securable: Securable) -> ProgrammingError:
    """Snowflake's refusal of a statement on an object the role can see but may not operate on."""
    return ProgrammingError(
        msg=f"SQL access control error:\nInsufficient privileges to operate on {securable.kind.lower()} "
        f"'{securable.short_name}'",
        errno=3001,
        sqlstate="42501",
    )


def hidden(securable: Securable, *, reading: bool = False) -> ProgrammingError:
    """Snowflake's answer for an object the role has no privilege on: as if it did not exist."""
    kind = "Object" if reading and securable.kind in ("TABLE", "VIEW") else securable.kind.capitalize()
    return does_not_exist(kind, securable.name)


def no_current_context() -> ProgrammingError:
    """Snowflake's refusal to USE a database, schema or warehouse the role may not use."""
    return ProgrammingError(
        msg="SQL compilation error:\nObject does not exist, or operation cannot be performed.",
        errno=2043,
        sqlstate="02000",
    )


def no_active_warehouse() -> ProgrammingError:
    """Snowflake's refusal of a query or DML in a session without a warehouse it may use."""
    return ProgrammingError(
        msg="No active warehouse selected in the current session.  Select an active warehouse with the "
        "'use warehouse' command.\n",
        errno=606,
        sqlstate="57P03",
    )

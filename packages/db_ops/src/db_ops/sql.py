"""The SQL the database operations run, built only from validated names.

``CREATE``/``DROP DATABASE`` cannot take bind parameters, so each statement is composed here from names that
``hn_core.deployment.names`` has already checked, and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hn_core.deployment.names import (
    BASE_SCHEMA,
    CLONE_PREFIX,
    CLONE_RECORD_TABLE,
    HACKER_NEWS_SCHEMA,
    PRODUCTION_DATABASE,
    validate_clone_name,
    validate_identifier,
)

#: What a schema of a clone holds that the branch role must own to write it: tables and views (then the schema).
HANDED_OVER = ("TABLES", "VIEWS")
_UNQUOTED = re.compile(r"[A-Z_][A-Z0-9_$]*")
#: Schemas of a clone that stay production's: Snowflake's own, and the base the branch's changes are compared with.
KEPT_SCHEMAS = ("INFORMATION_SCHEMA", BASE_SCHEMA)


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    row_count: int | None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


def clone_statement(clone: str) -> str:
    """Replace ``clone`` with a zero-copy clone of production, atomically: a re-run is a fresh clone."""
    return f"CREATE OR REPLACE DATABASE {validate_clone_name(clone)} CLONE {PRODUCTION_DATABASE}"


def base_statement(clone: str) -> str:
    """Keep production's tables as of the clone, zero-copy, in the clone's base schema, owned by production's role.

    Made before the hand-over, while production's role still owns the tables: a schema clone's tables keep their
    source's owners, so the base's stay production's, and the branch role only reads them.
    """
    return (
        f"CREATE OR REPLACE SCHEMA {validate_clone_name(clone)}.{BASE_SCHEMA} "
        f"CLONE {validate_clone_name(clone)}.{HACKER_NEWS_SCHEMA}"
    )


def record_statements(clone: str, pull_request_id: int, commit: str | None) -> list[tuple[str, tuple[Any, ...]]]:
    """Write, in the base schema, which pull request and commit the clone was made for and when (Snowflake's clock).

    The branch reads it (the base is readable to it) to tell which push its clone serves and how old the base is,
    with no access to production's runs. The table is made before the hand-over, like the base, so it stays
    production's; its row is written after it, so a clone whose hand-over failed names no commit and is not ready.
    """
    table = f"{validate_clone_name(clone)}.{BASE_SCHEMA}.{CLONE_RECORD_TABLE}"
    return [
        (
            f"CREATE OR REPLACE TABLE {table} (PULL_REQUEST NUMBER(18, 0), COMMIT_SHA VARCHAR, CLONED_AT TIMESTAMP_TZ)",
            (),
        ),
        (
            f"INSERT INTO {table} (PULL_REQUEST, COMMIT_SHA, CLONED_AT) SELECT %s, %s, CURRENT_TIMESTAMP()",
            (pull_request_id, commit),
        ),
    ]


def handover_statements(clone: str, branch_role: str, schemas: Sequence[str] = (HACKER_NEWS_SCHEMA,)) -> list[str]:
    """Hand ``clone`` (the tables, views and ``schemas`` in it, and itself) to ``branch_role``, keeping every other
    grant; the base schema stays production's, readable by the branch role.

    A database clone keeps the owner of each object inside it, so the cloning role (production's) still owns
    every schema and table of the clone, and the branch role could not write it. Under Snowflake's BCR 2395
    (2026_07 bundle, pending), GRANT OWNERSHIP needs the receiving role "activated in the current session" (or
    MANAGE GRANTS, which production does not hold); whether an inherited role counts is not settled, so production
    activates the branch role itself as a secondary role for the hand-over, and deactivates it afterwards. COPY
    CURRENT GRANTS keeps the grants the clone copied from PRODUCTION (say, SELECT for an analyst role) instead of
    failing on them.
    """
    clone = validate_clone_name(clone)
    role = validate_identifier(branch_role, "branch role")
    handed = [quote_identifier(schema) for schema in schemas if schema not in KEPT_SCHEMAS]
    grants = [
        f"GRANT OWNERSHIP ON {target} TO ROLE {role} COPY CURRENT GRANTS"
        for schema in handed
        for target in (*(f"ALL {kind} IN SCHEMA {clone}.{schema}" for kind in HANDED_OVER), f"SCHEMA {clone}.{schema}")
    ]
    reads = []
    if BASE_SCHEMA in schemas:
        reads = [
            f"GRANT USAGE ON SCHEMA {clone}.{BASE_SCHEMA} TO ROLE {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {clone}.{BASE_SCHEMA} TO ROLE {role}",
        ]
    return [
        f"USE SECONDARY ROLES {role}",
        *grants,
        f"GRANT OWNERSHIP ON DATABASE {clone} TO ROLE {role} COPY CURRENT GRANTS",
        *reads,
        "USE SECONDARY ROLES NONE",
    ]


def quote_identifier(name: str) -> str:
    """A schema name as ``SHOW SCHEMAS`` lists it, quoted: any name production created (lower case, spaces) works.

    Upper-case names stay unquoted, as the clone's own SQL writes them.
    """
    if _UNQUOTED.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def schemas_statement(clone: str) -> str:
    return f"SHOW SCHEMAS IN DATABASE {validate_clone_name(clone)}"


def schemas_of(cursor: Any, clone: str) -> list[str]:
    """The schemas of ``clone``, as ``SHOW SCHEMAS`` lists them (``INFORMATION_SCHEMA`` included)."""
    cursor.execute(schemas_statement(clone))
    columns = _column_index(cursor.description)
    return [row[columns["name"]] for row in cursor.fetchall()]


def drop_statement(clone: str) -> str:
    """Drop ``clone`` if it exists; anything not named like a clone is refused before SQL is built."""
    return f"DROP DATABASE IF EXISTS {validate_clone_name(clone)}"


def list_clones_statement() -> str:
    """Databases named like clones. ``_`` is a wildcard in ``LIKE``: callers still match names exactly."""
    return f"SHOW DATABASES LIKE '{CLONE_PREFIX}%'"


def tables_statement(database: str) -> str:
    """Tables of a database with their row counts, from its information schema."""
    return (
        "SELECT table_schema, table_name, row_count "
        f"FROM {validate_clone_name(database)}.information_schema.tables "
        "WHERE table_schema <> 'INFORMATION_SCHEMA' ORDER BY table_schema, table_name"
    )


def tables_of(cursor: Any, database: str) -> list[TableInfo]:
    cursor.execute(tables_statement(database))
    return [TableInfo(schema, name, rows) for schema, name, rows in cursor.fetchall()]


def databases_created_on(cursor: Any) -> dict[str, datetime]:
    """Clone-like databases and when each was created, from ``SHOW DATABASES``."""
    cursor.execute(list_clones_statement())
    columns = _column_index(cursor.description)
    return {row[columns["name"]]: row[columns["created_on"]] for row in cursor.fetchall()}


def _column_index(description: Sequence[Any]) -> dict[str, int]:
    return {column[0].lower(): position for position, column in enumerate(description)}

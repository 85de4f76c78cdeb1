"""Ops that create and drop the per-pull-request clones of ``PRODUCTION``.

They use the ``snowflake``, ``branch_role`` and ``local_clones`` resources by key, not by type, so that the
location loads locally without importing Snowflake libraries. Where each may run is checked first
(``db_ops.placement``), before any SQL.
"""

import os
import time
from typing import Any

import dagster as dg

from db_ops.placement import Operation, RefusalError
from db_ops.pull_request import (
    CloneConfig,
    PullRequestConfig,
    is_local_duckdb,
    resolve_commit,
    resolve_pull_request_id,
)
from db_ops.sql import (
    TableInfo,
    base_statement,
    clone_statement,
    drop_statement,
    handover_statements,
    record_statements,
    schemas_of,
    tables_of,
)
from hn_core.environment import resolve_target
from hn_core.names import (
    BASE_SCHEMA,
    HACKER_NEWS_SCHEMA,
    PRODUCTION_DATABASE,
    InvalidNameError,
    clone_database_name,
    validate_identifier,
)


@dg.op(required_resource_keys={"snowflake", "branch_role", "local_clones"}, tags={"kind": "snowflake"})
def clone_production_database(context: dg.OpExecutionContext, config: CloneConfig) -> str:
    """Replace `PRODUCTION_CLONE_<PR>` with a zero-copy clone of `PRODUCTION` owned by the branch role.

    Runs in production, with the role that owns `PRODUCTION`: `CREATE OR REPLACE ... CLONE` is one atomic
    statement (a re-run for a new commit yields a fresh clone; a failure leaves the previous one). Production's tables
    as of the clone are kept, zero-copy, in its schema `HACKER_NEWS_BASE`, which stays production's (the branch role
    may read it); the rest of the clone is handed to the branch role, which holds nothing on `PRODUCTION` itself.
    The base also records the pull request, the commit the clone is made for (`commit`) and when, in
    `HACKER_NEWS_BASE.CLONE_RECORD`. On a laptop whose warehouse is a DuckDB file, the clone is a copy of that file
    beside it, with the same base and record.
    """
    pull_request_id = resolve_pull_request_id(config, Operation.CLONE)
    commit = resolve_commit(config, context.run.tags)
    clone = clone_database_name(pull_request_id)
    if is_local_duckdb(resolve_target(os.environ)):
        return _clone_locally(context, clone, pull_request_id, commit)
    branch_role = _branch_role(context.resources.branch_role.name)
    started = time.perf_counter()
    with context.resources.snowflake.get_connection() as connection:
        cursor = connection.cursor()
        context.log.info(f"Cloning {PRODUCTION_DATABASE} into {clone}")
        cursor.execute(clone_statement(clone))
        if HACKER_NEWS_SCHEMA in schemas_of(cursor, clone):
            context.log.info(f"Keeping production's tables as of the clone in {clone}.{BASE_SCHEMA}")
            cursor.execute(base_statement(clone))
            create_record, fill_record = record_statements(clone, pull_request_id, commit)
            cursor.execute(*create_record)
        context.log.info(f"Handing {clone} over to {branch_role}, all but {BASE_SCHEMA}")
        for statement in handover_statements(clone, branch_role, schemas_of(cursor, clone)):
            cursor.execute(statement)
        if HACKER_NEWS_SCHEMA in schemas_of(cursor, clone):
            # Last: a clone whose hand-over failed records no commit, so nothing takes it for ready.
            cursor.execute(*fill_record)
        tables = tables_of(cursor, clone)
    context.log.info(f"{clone} holds {len(tables)} tables: {', '.join(t.qualified_name for t in tables)}")
    context.add_output_metadata(
        {
            "database": clone,
            "source": PRODUCTION_DATABASE,
            "owner": branch_role,
            "commit": commit or "",
            **_tables_metadata(tables),
            **_duration(started),
        }
    )
    return clone


@dg.op(required_resource_keys={"snowflake", "local_clones"}, tags={"kind": "snowflake"})
def drop_database_clone(context: dg.OpExecutionContext, config: PullRequestConfig) -> str:
    """Drop `PRODUCTION_CLONE_<PR>` if it exists; any other name is refused before SQL is built."""
    clone = clone_database_name(resolve_pull_request_id(config, Operation.DROP))
    started = time.perf_counter()
    if is_local_duckdb(resolve_target(os.environ)):
        existed = context.resources.local_clones.drop(clone)
        context.log.info(f"Dropped the local clone {clone}" if existed else f"There was no local clone {clone}")
        context.add_output_metadata({"database": clone, "existed": existed, **_duration(started)})
        return clone
    with context.resources.snowflake.get_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(drop_statement(clone))
        status = cursor.fetchone()
    context.log.info(f"Dropped {clone} (Snowflake said: {status[0] if status else 'nothing'})")
    context.add_output_metadata({"database": clone, "status": str(status[0]) if status else "", **_duration(started)})
    return clone


def _clone_locally(context: dg.OpExecutionContext, clone: str, pull_request_id: int, commit: str | None) -> str:
    started = time.perf_counter()
    local_clones = context.resources.local_clones
    tables = local_clones.clone(clone, pull_request_id, commit)
    context.log.info(
        f"Copied the local warehouse into {local_clones.path_of(clone)}, with the base schema {BASE_SCHEMA}"
    )
    context.add_output_metadata(
        {
            "database": clone,
            "path": str(local_clones.path_of(clone)),
            "source": local_clones.warehouse,
            "commit": commit or "",
            **_tables_metadata(tables),
            **_duration(started),
        }
    )
    return clone


def _branch_role(name: str) -> str:
    try:
        return validate_identifier(name, "branch role (SYSTEM_SNOWFLAKE_BRANCH_ROLE)")
    except InvalidNameError as error:
        raise RefusalError(str(error)) from None


def _tables_metadata(tables: list[TableInfo]) -> dict[str, Any]:
    return {
        "table_count": len(tables),
        "tables": dg.MetadataValue.md(
            "\n".join(f"- `{t.qualified_name}`: {t.row_count} rows" for t in tables) or "(none)"
        ),
    }


def _duration(started: float) -> dict[str, float]:
    return {"duration_seconds": round(time.perf_counter() - started, 3)}


@dg.job(description="Replace a pull request's clone of PRODUCTION with a fresh one owned by the branch role.")
def clone_prod() -> None:
    clone_production_database()


@dg.job(description="Drop a pull request's clone of PRODUCTION (pr_id in run config, or a branch's own).")
def drop_prod_clone() -> None:
    drop_database_clone()

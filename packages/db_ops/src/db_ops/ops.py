"""Ops that create and drop the per-pull-request clones of ``PRODUCTION``.

They use the ``snowflake`` resource by key, not by type, so that the location loads locally without importing
Snowflake libraries; there the resource stops any run at once and names the opt-in.
"""

import time
from typing import Any

import dagster as dg

from db_ops.pull_request import PullRequestConfig, resolve_pull_request_id
from db_ops.sql import TableInfo, clone_statement, drop_statement, tables_of
from hn_core.names import PRODUCTION_DATABASE, clone_database_name


@dg.op(required_resource_keys={"snowflake"}, tags={"kind": "snowflake"})
def clone_production_database(context: dg.OpExecutionContext, config: PullRequestConfig) -> str:
    """Create (or replace) ``PRODUCTION_CLONE_<PR>`` as a zero-copy clone of ``PRODUCTION``.

    ``CREATE OR REPLACE ... CLONE`` is one atomic statement, so a re-run for a new commit yields a fresh clone and
    a failure leaves the previous one in place.
    """
    clone = clone_database_name(resolve_pull_request_id(config))
    started = time.perf_counter()
    with context.resources.snowflake.get_connection() as connection:
        cursor = connection.cursor()
        context.log.info(f"Cloning {PRODUCTION_DATABASE} into {clone}")
        cursor.execute(clone_statement(clone))
        tables = tables_of(cursor, clone)
    context.log.info(f"{clone} holds {len(tables)} tables: {', '.join(t.qualified_name for t in tables)}")
    context.add_output_metadata(
        {"database": clone, "source": PRODUCTION_DATABASE, **_tables_metadata(tables), **_duration(started)}
    )
    return clone


@dg.op(required_resource_keys={"snowflake"}, tags={"kind": "snowflake"})
def drop_database_clone(context: dg.OpExecutionContext, config: PullRequestConfig) -> str:
    """Drop ``PRODUCTION_CLONE_<PR>`` if it exists; any other name is refused before SQL is built."""
    clone = clone_database_name(resolve_pull_request_id(config))
    started = time.perf_counter()
    with context.resources.snowflake.get_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(drop_statement(clone))
        status = cursor.fetchone()
    context.log.info(f"Dropped {clone} (Snowflake said: {status[0] if status else 'nothing'})")
    context.add_output_metadata({"database": clone, "status": str(status[0]) if status else "", **_duration(started)})
    return clone


def _tables_metadata(tables: list[TableInfo]) -> dict[str, Any]:
    return {
        "table_count": len(tables),
        "tables": dg.MetadataValue.md(
            "\n".join(f"- `{t.qualified_name}`: {t.row_count} rows" for t in tables) or "(none)"
        ),
    }


def _duration(started: float) -> dict[str, float]:
    return {"duration_seconds": round(time.perf_counter() - started, 3)}


@dg.job(description="Replace this pull request's clone of PRODUCTION with a fresh zero-copy clone.")
def clone_prod() -> None:
    clone_production_database()


@dg.job(description="Drop this pull request's clone of PRODUCTION (pr_id in run config, or the branch's own).")
def drop_prod_clone() -> None:
    drop_database_clone()

"""Ops and jobs that create and drop the per-pull-request clones of ``PRODUCTION``.

Each deployment gets the jobs ``clone_prod`` and ``drop_prod_clone`` as it runs them (``build_jobs``): on Snowflake
(production; a branch deployment's drop of its own clone), on DuckDB files (a laptop whose warehouse is one), or
refusing (anywhere else), with a description and tags that say so before launch. A job that refuses needs no
resource and no config; one that runs needs ``pr_id``. The ops use resources by key, not by type, so that the
location loads locally without importing Snowflake libraries. Where each may run is checked again when it runs
(``db_ops.placement``), before its config is read and before any SQL.
"""

import time
from typing import Any

import dagster as dg

from db_ops.placement import (
    OPS,
    PRODUCTION,
    Deployment,
    Operation,
    RefusalError,
    job_tags,
    refusal,
    runs_here,
    where_it_runs,
)
from db_ops.pull_request import (
    CloneConfig,
    ElsewhereConfig,
    PullRequestConfig,
    given_pull_request_id,
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
from hn_core.deployment.environment import Target
from hn_core.deployment.names import (
    BASE_SCHEMA,
    HACKER_NEWS_SCHEMA,
    PRODUCTION_DATABASE,
    InvalidNameError,
    clone_database_name,
    validate_identifier,
)


@dg.op(name=OPS[Operation.CLONE], required_resource_keys={"snowflake", "branch_role"}, tags={"kind": "snowflake"})
def clone_production_database(context: dg.OpExecutionContext, config: CloneConfig) -> str:
    """Replace `PRODUCTION_CLONE_<PR>` with a zero-copy clone of `PRODUCTION` owned by the branch role.

    Runs in production, with the role that owns `PRODUCTION`: `CREATE OR REPLACE ... CLONE` is one atomic
    statement (a re-run for a new commit yields a fresh clone; a failure leaves the previous one). Production's tables
    as of the clone are kept, zero-copy, in its schema `HACKER_NEWS_BASE`, which stays production's (the branch role
    may read it); the rest of the clone is handed to the branch role, which holds nothing on `PRODUCTION` itself.
    The base also records the pull request, the commit the clone is made for (`commit`) and when, in
    `HACKER_NEWS_BASE.CLONE_RECORD`.
    """
    pull_request_id = resolve_pull_request_id(config, Operation.CLONE)
    commit = resolve_commit(config, context.run.tags)
    clone = clone_database_name(pull_request_id)
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


@dg.op(name=OPS[Operation.CLONE], required_resource_keys={"local_clones"}, tags={"kind": "duckdb"})
def clone_local_warehouse(context: dg.OpExecutionContext, config: CloneConfig) -> str:
    """Replace `PRODUCTION_CLONE_<PR>.duckdb`, beside the local DuckDB warehouse, with a copy of the warehouse.

    The laptop's stand-in for production's clone: the warehouse plays `PRODUCTION`, and the copy keeps its tables as
    of the clone in `HACKER_NEWS_BASE`, with the record of the pull request and commit (`commit`), as a Snowflake
    clone does, so that a pull request's data diff can be rehearsed offline.
    """
    pull_request_id = resolve_pull_request_id(config, Operation.CLONE)
    commit = resolve_commit(config, context.run.tags)
    return _clone_locally(context, clone_database_name(pull_request_id), pull_request_id, commit)


@dg.op(name=OPS[Operation.DROP], required_resource_keys={"snowflake"}, tags={"kind": "snowflake"})
def drop_database_clone(context: dg.OpExecutionContext, config: PullRequestConfig) -> str:
    """Drop `PRODUCTION_CLONE_<PR>` if it exists; any other name is refused before SQL is built."""
    clone = clone_database_name(resolve_pull_request_id(config, Operation.DROP))
    started = time.perf_counter()
    with context.resources.snowflake.get_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(drop_statement(clone))
        status = cursor.fetchone()
    context.log.info(f"Dropped {clone} (Snowflake said: {status[0] if status else 'nothing'})")
    context.add_output_metadata({"database": clone, "status": str(status[0]) if status else "", **_duration(started)})
    return clone


@dg.op(name=OPS[Operation.DROP], required_resource_keys={"local_clones"}, tags={"kind": "duckdb"})
def drop_local_clone(context: dg.OpExecutionContext, config: PullRequestConfig) -> str:
    """Delete `PRODUCTION_CLONE_<PR>.duckdb` beside the local DuckDB warehouse, if it exists; a second drop is
    harmless, and any other name is refused before a file is touched."""
    clone = clone_database_name(resolve_pull_request_id(config, Operation.DROP))
    started = time.perf_counter()
    existed = context.resources.local_clones.drop(clone)
    context.log.info(f"Dropped the local clone {clone}" if existed else f"There was no local clone {clone}")
    context.add_output_metadata({"database": clone, "existed": existed, **_duration(started)})
    return clone


def refusing_op(operation: Operation, deployment: Deployment) -> dg.OpDefinition:
    """The op of ``operation`` in a deployment that may not run it: it needs no resource and no config, and fails
    at once saying where to run the job and with which run config (for `pr_id`, if one is given)."""
    description = (
        f"Refuses to run here ({deployment.name}): fails at once, naming where the job runs and the run config to use "
        "there. Nothing is connected to and no SQL runs."
    )

    @dg.op(name=OPS[operation], description=description)
    def refuse(config: ElsewhereConfig) -> None:
        raise RefusalError(refusal(operation, deployment, given_pull_request_id(config.pr_id)) or description)

    return refuse


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


#: What each job does, before the sentence that says where it runs.
SUMMARIES = {
    Operation.CLONE: "Replace a pull request's clone of `PRODUCTION` with a fresh one owned by the branch role.",
    Operation.DROP: "Drop a pull request's clone of `PRODUCTION`.",
}


def _job(operation: Operation, op: dg.OpDefinition, deployment: Deployment) -> dg.JobDefinition:
    @dg.job(
        name=operation.value,
        description=f"{SUMMARIES[operation]} {where_it_runs(operation, deployment)}",
        tags=job_tags(operation, deployment),
    )
    def job() -> None:
        op()

    return job


#: Production's jobs, which its sensor ``pull_request_clones`` launches.
clone_prod = _job(Operation.CLONE, clone_production_database, PRODUCTION)
drop_prod_clone = _job(Operation.DROP, drop_database_clone, PRODUCTION)


def build_jobs(target: Target) -> list[dg.JobDefinition]:
    """``clone_prod`` and ``drop_prod_clone`` as ``target``'s deployment runs them, or refuses them."""
    deployment = Deployment.of(target)
    if deployment.environment is PRODUCTION.environment:
        return [clone_prod, drop_prod_clone]
    return [_job(operation, _op(operation, deployment), deployment) for operation in (Operation.CLONE, Operation.DROP)]


def _op(operation: Operation, deployment: Deployment) -> dg.OpDefinition:
    if not runs_here(operation, deployment):
        return refusing_op(operation, deployment)
    if deployment.local_duckdb:
        return {Operation.CLONE: clone_local_warehouse, Operation.DROP: drop_local_clone}[operation]
    return drop_database_clone  # a branch deployment, on its own clone

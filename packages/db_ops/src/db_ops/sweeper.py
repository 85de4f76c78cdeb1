"""The sweeper: drops ``PRODUCTION_CLONE_<PR>`` databases older than an age, the last resort after the reconciling
sensor (``db_ops.reconcile``) for clones whose pull request the code host no longer knows.

It never drops the clone of a pull request the code host says is open, however old (a pull request may wait weeks
for review), and drops nothing when the code host cannot be asked. It matches names exactly (``PRODUCTION_CLONE_``
and digits), so ``PRODUCTION``, ``STAGING`` and anything else a ``LIKE`` pattern might catch are never touched;
``dry_run`` reports what it would drop and drops nothing.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from pydantic import Field

from db_ops.code_host import CodeHostError, PullRequestState
from db_ops.placement import PRODUCTION, Deployment, Operation, job_tags, require_placement, where_it_runs
from db_ops.sql import databases_created_on, drop_statement
from hn_core.deployment.environment import resolve_target
from hn_core.deployment.names import clone_pull_request_id

SWEEP_SCHEDULE = "0 4 * * *"


class SweepConfig(dg.Config):
    """How old a clone must be to go (1 to 3650 days), and whether to drop it or only say it would."""

    # At least a day, so that a slip of the finger cannot sweep every open pull request, and at most ten years, so
    # that the age stays a date Python can compute (inf or 1e9 days cannot be).
    max_age_days: float = Field(
        default=14.0, ge=1, le=3650, description="Drop clones created more than this many days ago (1 to 3650)."
    )
    dry_run: bool = Field(default=False, description="Only report which clones would be dropped.")


def stale_clones(
    created_on: dict[str, datetime], now: datetime, max_age: timedelta, open_pull_requests: frozenset[int] = frozenset()
) -> list[str]:
    """Names of clones created before ``now - max_age``, sorted, but those of open pull requests; every other
    database is left out."""
    return sorted(
        name
        for name, created in created_on.items()
        if (number := clone_pull_request_id(name)) is not None
        and number not in open_pull_requests
        and _as_utc(created) < now - max_age
    )


@dg.op(required_resource_keys={"snowflake", "code_host"}, tags={"kind": "snowflake"})
def drop_stale_clones(context: dg.OpExecutionContext, config: SweepConfig) -> list[str]:
    """Drop (or with `dry_run` only list) the clones older than `max_age_days`, but those of open pull requests;
    returns the names dropped.

    Only production sweeps: anywhere else the credentials may own other pull requests' clones, and a branch
    deployment runs a pull request's own code.
    """
    require_placement(Operation.SWEEP, Deployment.of(resolve_target()))
    started = time.perf_counter()
    try:
        open_numbers = frozenset(pull.number for pull in context.resources.code_host.open_pull_requests())
    except CodeHostError as error:
        raise dg.Failure(
            f"Nothing swept: the code host could not say which pull requests are open, and an open one's clone is "
            f"never dropped ({error})."
        ) from error
    with context.resources.snowflake.get_connection() as connection:
        cursor = connection.cursor()
        created_on = databases_created_on(cursor)
        stale = stale_clones(created_on, datetime.now(UTC), timedelta(days=config.max_age_days), open_numbers)
        # The list can miss an open pull request (pages shift while it is read): each candidate is asked alone.
        reopened = [name for name in stale if _still_open(context.resources.code_host, name)]
        stale = [name for name in stale if name not in reopened]
        for name in stale if not config.dry_run else []:
            context.log.info(f"Dropping {name}, created {created_on[name]:%Y-%m-%d %H:%M}")
            cursor.execute(drop_statement(name))
    clones = sorted(name for name in created_on if clone_pull_request_id(name) is not None)
    context.add_output_metadata(
        {
            "dry_run": config.dry_run,
            "max_age_days": config.max_age_days,
            "clones_found": len(clones),
            "stale": ", ".join(stale),
            "dropped": ", ".join(stale) if not config.dry_run else "",
            "kept": ", ".join(sorted(set(clones) - set(stale))),
            "open_pull_requests": ", ".join(str(number) for number in sorted(open_numbers)),
            "duration_seconds": round(time.perf_counter() - started, 3),
        }
    )
    return [] if config.dry_run else stale


@dg.job(
    description="Drop the clones of pull requests older than `max_age_days`, but an open pull request's. "
    + where_it_runs(Operation.SWEEP, PRODUCTION),
    tags=job_tags(Operation.SWEEP, PRODUCTION),
)
def sweep_stale_clones() -> None:
    drop_stale_clones()


sweep_stale_clones_daily = dg.ScheduleDefinition(
    name="sweep_stale_clones_daily",
    job=sweep_stale_clones,
    cron_schedule=SWEEP_SCHEDULE,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily sweep of stale clones, in production only.",
)


def _still_open(code_host: Any, name: str) -> bool:
    try:
        return code_host.state_of(clone_pull_request_id(name)) is PullRequestState.OPEN
    except CodeHostError as error:
        raise dg.Failure(
            f"Nothing swept: the code host could not say whether {name}'s pull request is open ({error})."
        ) from error


def _as_utc(moment: datetime) -> datetime:
    """Snowflake returns ``created_on`` with a zone; treat a naive one as UTC rather than local time."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

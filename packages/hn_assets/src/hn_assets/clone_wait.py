"""``wait_for_clone``: a branch deployment waits, in its own warehouse, until its clone was made for its own commit.

``clone_prod`` runs in production and records in the clone which commit it was made for
(``HACKER_NEWS_BASE.CLONE_RECORD``). A pull request's CI launches this job in the branch deployment before the
change's runs: it succeeds once the clone's record names the commit, and fails after ``timeout_seconds`` saying what
the clone holds instead. The branch sees the clone, never production's runs, so this ordering needs nothing but the
branch deployment: CI that may not launch ``clone_prod`` itself (whose production launches come from elsewhere) still
knows when its clone is ready. The commit defaults to ``DAGSTER_CLOUD_GIT_SHA``, which Dagster+ sets in branch
deployments to the commit deployed.
"""

import os
import time
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from hn_core.deployment.names import InvalidNameError, parse_commit_sha
from hn_core.warehouse.clone_record import CloneRecord, read_clone_record
from hn_core.warehouse.query import WarehouseQuery

GIT_SHA_VARIABLE = "DAGSTER_CLOUD_GIT_SHA"
# Where no clone exists at all, the likeliest cause in a new organization: production does not run db_ops yet.
NEVER_CLONED = (
    " If no pull request has had a clone yet, production may not run db_ops: deploy the default branch first (its "
    "deploy job puts db_ops in production), then turn on the sensor pull_request_clones there (docs/setup.md)."
)


class CloneWaitConfig(dg.Config):
    commit: str = Field(default="", description=f"The commit the clone must be made for; default {GIT_SHA_VARIABLE}.")
    timeout_seconds: float = Field(default=1200, ge=0, description="How long to wait for such a clone.")
    poll_seconds: float = Field(default=15, gt=0, description="How often to read the clone's record.")


def wanted_commit(config: CloneWaitConfig) -> str:
    given = config.commit or os.environ.get(GIT_SHA_VARIABLE, "")
    if not given:
        raise dg.Failure(f"No commit to wait for: set op config commit, or run where Dagster+ sets {GIT_SHA_VARIABLE}.")
    try:
        return parse_commit_sha(given)
    except InvalidNameError as error:
        raise dg.Failure(str(error)) from error


def made_for(record: CloneRecord | None, commit: str) -> bool:
    """Whether ``record`` is a clone made for ``commit`` (either may be abbreviated, as Git allows)."""
    recorded = (record.commit or "") if record else ""
    return bool(recorded) and (recorded.startswith(commit) or commit.startswith(recorded))


def describe(record: CloneRecord | None, error: str) -> str:
    if record is not None:
        made = f"{record.cloned_at:%Y-%m-%d %H:%M:%S %Z}"
        return f"the clone was made for commit {record.commit or '(none recorded)'} at {made}"
    return f"there is no clone to read yet ({error})" if error else "the clone has no record of its commit"


@dg.op(description="Wait until this deployment's clone was made for the commit (`HACKER_NEWS_BASE.CLONE_RECORD`).")
def clone_for_commit(
    context: dg.OpExecutionContext, config: CloneWaitConfig, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> None:
    commit = wanted_commit(config)
    deadline, started = time.monotonic() + config.timeout_seconds, datetime.now(UTC)
    record, error = None, ""
    while True:
        try:
            record, error = read_clone_record(warehouse_query), ""
        except Exception as exc:  # a clone not made yet: no database, no file, no schema
            record, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if made_for(record, commit):
            break
        if record is not None and record.commit and record.cloned_at > started:
            # Production clones only a pull request's current head: this commit is no longer it.
            raise dg.Failure(
                f"No clone will be made for commit {commit}: {describe(record, error)}, after this wait began, so the "
                "pull request has moved on to that commit. Its own run compares it."
            )
        if time.monotonic() >= deadline:
            raise dg.Failure(
                f"No clone made for commit {commit} after {config.timeout_seconds:g} s: {describe(record, error)}. "
                "Production's sensor pull_request_clones clones each open pull request's head commit: see its ticks "
                "and the clone_prod runs in production (re-executing a failed one clones again)."
                + (NEVER_CLONED if record is None else "")
            )
        context.log.info(f"Waiting for a clone made for {commit[:12]}: {describe(record, error)}")
        time.sleep(min(config.poll_seconds, max(deadline - time.monotonic(), 0)))
    assert record is not None
    context.log.info(f"The clone was made for {record.commit} at {record.cloned_at:%Y-%m-%d %H:%M:%S %Z}")
    context.add_output_metadata(
        {
            "clone_commit": record.commit or "",
            "clone_pull_request": record.pull_request_id,
            "cloned_at": dg.MetadataValue.timestamp(record.cloned_at),
        }
    )


@dg.job(description="Wait until this branch deployment's clone was made for its commit; CI runs it before a change.")
def wait_for_clone() -> None:
    clone_for_commit()

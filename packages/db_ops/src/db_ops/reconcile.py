"""Clones reconciled with the code host: a clone for each open pull request's head commit, none for a closed one.

Production's sensor ``pull_request_clones`` asks the code host (``db_ops.code_host``) which pull requests are open,
and compares that with what Snowflake holds (each clone, and the commit its ``CLONE_RECORD`` names) and with the
clone and drop runs production has made:

- an open pull request from the repository whose clone is missing or was made for another commit gets
  ``clone_prod`` for its head commit. A clone run that fails is tried again on a later tick, up to
  ``MAX_CLONE_ATTEMPTS`` runs per commit; then the sensor says it gave up, until the next push;
- a clone whose pull request is closed or merged gets ``drop_prod_clone``: within minutes of the close, even when the
  close event was lost or never sent (GitHub runs no ``pull_request`` workflow for a pull request with conflicts);
- a clone whose pull request the host does not know is an orphan: reported, and left to the age sweep;
- nothing is requested for a pull request that has a clone or drop run queued or running, so two runs never act on
  one clone at once (a newer push is cloned once the older push's run has ended);
- a fork's pull request gets no branch deployment, so no clone.

Pull-request CI therefore never launches anything in production: it needs no production token, and waits for its
clone in its branch deployment (``wait_for_clone`` in hn_assets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

from db_ops.code_host import CodeHost, CodeHostError, PullRequest, PullRequestState
from db_ops.ops import clone_prod, drop_prod_clone
from db_ops.sql import databases_created_on
from hn_core.names import BASE_SCHEMA, CLONE_RECORD_TABLE, clone_database_name, clone_pull_request_id

SENSOR_INTERVAL_SECONDS = 120
MAX_CLONE_ATTEMPTS = 3
PULL_REQUEST_TAG, COMMIT_TAG = "hn/pull_request", "hn/commit"


@dataclass(frozen=True)
class Clone:
    """A clone Snowflake holds: when it was made, and the commit its record names (None without a record)."""

    created_on: datetime
    commit: str | None


@dataclass
class Reconciliation:
    clone: list[tuple[PullRequest, int]] = field(default_factory=list)  # with the attempt it would be
    drop: list[str] = field(default_factory=list)  # clones of closed or merged pull requests
    orphans: list[str] = field(default_factory=list)  # clones of pull requests the host does not know
    kept: list[str] = field(default_factory=list)  # clones of open pull requests, made for their head commit
    busy: list[int] = field(default_factory=list)  # pull requests with a clone or drop run in flight
    gave_up: list[PullRequest] = field(default_factory=list)  # head commits whose clone failed every attempt


def reconcile(
    open_pull_requests: list[PullRequest],
    clones: Mapping[str, Clone],
    in_flight: set[int],
    failed_attempts: Mapping[tuple[int, str], int],
    state_of: Any,
) -> Reconciliation:
    """What to do; ``state_of`` is asked only about clones whose pull request is not among the open ones."""
    result = Reconciliation()
    open_numbers = {pull.number for pull in open_pull_requests}
    for pull in sorted(open_pull_requests, key=lambda pull: pull.number):
        clone = clones.get(clone_database_name(pull.number))
        if pull.from_fork:
            continue
        if pull.number in in_flight:
            result.busy.append(pull.number)
        elif clone is not None and clone.commit == pull.head_sha:
            result.kept.append(clone_database_name(pull.number))
        elif (failed := failed_attempts.get((pull.number, pull.head_sha), 0)) >= MAX_CLONE_ATTEMPTS:
            result.gave_up.append(pull)
        else:
            result.clone.append((pull, failed + 1))
    for name in sorted(clones, key=lambda clone: clone_pull_request_id(clone) or 0):
        number = clone_pull_request_id(name)
        if number is None or number in open_numbers:
            continue
        state = state_of(number)
        if state is PullRequestState.CLOSED and number in in_flight:
            result.busy.append(number)
        elif state is PullRequestState.CLOSED:
            result.drop.append(name)
        elif state is PullRequestState.UNKNOWN:
            result.orphans.append(name)
        else:  # opened since the list was read
            result.kept.append(name)
    return result


def run_requests(result: Reconciliation, clones: Mapping[str, Clone]) -> list[dg.RunRequest]:
    """A clone per pull request to clone (its run key names the commit and the attempt), a drop per closed pull
    request's clone (its run key names the clone as it was created)."""
    to_clone = [
        dg.RunRequest(
            run_key=f"clone-{pull.number}-{pull.head_sha}-{attempt}",
            job_name=clone_prod.name,
            run_config=_op_config("clone_production_database", pr_id=str(pull.number), commit=pull.head_sha),
            tags={PULL_REQUEST_TAG: str(pull.number), COMMIT_TAG: pull.head_sha},
        )
        for pull, attempt in result.clone
    ]
    drops = [
        dg.RunRequest(
            run_key=f"drop-{name}-{clones[name].created_on:%Y%m%dT%H%M%S}",
            job_name=drop_prod_clone.name,
            run_config=_op_config("drop_database_clone", pr_id=str(clone_pull_request_id(name))),
            tags={PULL_REQUEST_TAG: str(clone_pull_request_id(name))},
        )
        for name in result.drop
    ]
    return to_clone + drops


def _op_config(op: str, **config: str) -> dict[str, Any]:
    return {"ops": {op: {"config": config}}}


def clones_in_snowflake(cursor: Any) -> dict[str, Clone]:
    """Every clone production holds, with the commit its record names (None for a clone without a record)."""
    clones = {}
    for name, created_on in databases_created_on(cursor).items():
        if clone_pull_request_id(name) is None:
            continue
        try:
            cursor.execute(f"SELECT COMMIT_SHA FROM {name}.{BASE_SCHEMA}.{CLONE_RECORD_TABLE}")
            rows = cursor.fetchall()
        except Exception:  # a clone made before clones kept a record (the connector's ProgrammingError)
            rows = []
        clones[name] = Clone(created_on, rows[0][0] if rows else None)
    return clones


def runs_of_pull_requests(instance: dg.DagsterInstance) -> tuple[set[int], dict[tuple[int, str], int]]:
    """Pull requests with a clone or drop run in flight; failed clone runs per (pull request, commit)."""
    in_flight = set()
    for job in (clone_prod.name, drop_prod_clone.name):
        for run in instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=NOT_FINISHED_STATUSES)):
            if run.tags.get(PULL_REQUEST_TAG, "").isdigit():
                in_flight.add(int(run.tags[PULL_REQUEST_TAG]))
    failed: dict[tuple[int, str], int] = {}
    ended_badly = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    for run in instance.get_runs(filters=dg.RunsFilter(job_name=clone_prod.name, statuses=ended_badly), limit=500):
        number, commit = run.tags.get(PULL_REQUEST_TAG, ""), run.tags.get(COMMIT_TAG, "")
        if number.isdigit() and commit:
            failed[(int(number), commit)] = failed.get((int(number), commit), 0) + 1
    return in_flight, failed


@dg.sensor(
    jobs=[clone_prod, drop_prod_clone],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Clone production for each open pull request's head commit; drop the clones of closed ones.",
)
def pull_request_clones(
    context: dg.SensorEvaluationContext, code_host: dg.ResourceParam[CodeHost], snowflake: dg.ResourceParam[Any]
) -> dg.SensorResult | dg.SkipReason:
    try:
        open_pull_requests = code_host.open_pull_requests()
        with snowflake.get_connection() as connection:
            clones = clones_in_snowflake(connection.cursor())
        in_flight, failed = runs_of_pull_requests(context.instance)
        result = reconcile(open_pull_requests, clones, in_flight, failed, code_host.state_of)
    except CodeHostError as error:
        return dg.SkipReason(f"The code host could not be asked, so nothing is cloned or dropped: {error}")
    for name in result.orphans:
        context.log.warning(
            f"{name} belongs to no pull request the code host knows: the age sweep drops it "
            f"(sweep_stale_clones), or drop it now with drop_prod_clone and pr_id {clone_pull_request_id(name)}."
        )
    for pull in result.gave_up:
        context.log.warning(
            f"Gave up cloning pull request {pull.number} at {pull.head_sha[:12]}: {MAX_CLONE_ATTEMPTS} clone_prod "
            "runs failed (see them in this deployment's runs). A new push tries again; so does re-executing the "
            "last failed run."
        )
    requests = run_requests(result, clones)
    if not requests:
        said = [f"{len(result.kept)} clones up to date"]
        said += [f"waiting for the runs of pull requests {', '.join(map(str, result.busy))}"] if result.busy else []
        said += [f"orphans: {', '.join(result.orphans)}"] if result.orphans else []
        said += [f"gave up on {', '.join(str(pull.number) for pull in result.gave_up)}"] if result.gave_up else []
        return dg.SkipReason("; ".join(said))
    return dg.SensorResult(run_requests=requests)

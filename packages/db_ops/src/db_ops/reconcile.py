"""Clones reconciled with the code host: a clone for each open pull request's head commit, none for a closed one.

Production's sensor ``pull_request_clones`` asks the code host (``db_ops.code_host``) which pull requests are open,
and compares that with what Snowflake holds (each clone, and the commit its ``CLONE_RECORD`` names) and with the
clone and drop runs production has made:

- an open pull request from the repository whose clone is missing or was made for another commit gets
  ``clone_prod`` for its head commit;
- a clone whose pull request is closed or merged gets ``drop_prod_clone``: within minutes of the close, even when the
  close event was lost or never sent (GitHub runs no ``pull_request`` workflow for a pull request with conflicts);
- a run that fails is tried again on a later tick, up to ``MAX_ATTEMPTS`` runs per task (a clone of one commit, a
  drop of one clone); then the sensor says it gave up, until the next push (or a re-execution of the failed run);
- a clone whose pull request the host does not know is an orphan: reported, and left to the age sweep;
- nothing is requested for a pull request that has a clone or drop run queued or running, so two runs never act on
  one clone at once (a newer push is cloned once the older push's run has ended);
- a fork's pull request gets no branch deployment, so no clone.

Pull-request CI therefore never launches anything in production: it needs no production token, and waits for its
clone in its branch deployment (``wait_for_clone`` in hn_assets).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

from db_ops.code_host import CodeHost, CodeHostError, PullRequest, PullRequestState
from db_ops.ops import clone_prod, drop_prod_clone
from db_ops.sql import databases_created_on
from hn_core.deployment.names import BASE_SCHEMA, CLONE_RECORD_TABLE, clone_database_name, clone_pull_request_id

SENSOR_INTERVAL_SECONDS = 120
MAX_ATTEMPTS = 3
#: Tags of the sensor's runs: the pull request, and the task the run is an attempt at (its failures are counted).
PULL_REQUEST_TAG, TASK_TAG = "hn/pull_request", "hn/task"


@dataclass(frozen=True)
class Clone:
    """A clone Snowflake holds: when it was made, and the commit its record names (None without a record)."""

    created_on: datetime
    commit: str | None


def clone_task(pull: PullRequest) -> str:
    return f"clone-{pull.number}-{pull.head_sha}"


def drop_task(name: str, clone: Clone) -> str:
    return f"drop-{name}-{clone.created_on:%Y%m%dT%H%M%S}"


@dataclass
class Reconciliation:
    clone: list[tuple[PullRequest, int]] = field(default_factory=list)  # with the attempt it would be
    drop: list[tuple[str, int]] = field(default_factory=list)  # clones of closed or merged pull requests
    orphans: list[str] = field(default_factory=list)  # clones of pull requests the host does not know
    kept: list[str] = field(default_factory=list)  # clones of open pull requests, made for their head commit
    busy: list[int] = field(default_factory=list)  # pull requests with a clone or drop run in flight
    gave_up: list[str] = field(default_factory=list)  # tasks whose runs failed every attempt


def reconcile(
    open_pull_requests: list[PullRequest],
    clones: Mapping[str, Clone],
    in_flight: set[int],
    failed_runs: Mapping[str, int],
    state_of: Callable[[int], PullRequestState],
) -> Reconciliation:
    """What to do; ``state_of`` is asked only about clones whose pull request is not among the open ones."""
    result = Reconciliation()

    def attempt(task: str, todo: list, item: object) -> None:
        failed = failed_runs.get(task, 0)
        if failed >= MAX_ATTEMPTS:
            result.gave_up.append(task)
        else:
            todo.append((item, failed + 1))

    open_numbers = {pull.number for pull in open_pull_requests}
    for pull in sorted(open_pull_requests, key=lambda pull: pull.number):
        clone = clones.get(clone_database_name(pull.number))
        if pull.from_fork:
            continue
        if pull.number in in_flight:
            result.busy.append(pull.number)
        elif clone is not None and clone.commit == pull.head_sha:
            result.kept.append(clone_database_name(pull.number))
        else:
            attempt(clone_task(pull), result.clone, pull)
    for name in sorted(clones, key=lambda clone: clone_pull_request_id(clone) or 0):
        number = clone_pull_request_id(name)
        if number is None or number in open_numbers:
            continue
        state = state_of(number)
        if state is PullRequestState.CLOSED and number in in_flight:
            result.busy.append(number)
        elif state is PullRequestState.CLOSED:
            attempt(drop_task(name, clones[name]), result.drop, name)
        elif state is PullRequestState.UNKNOWN:
            result.orphans.append(name)
        else:  # opened since the list was read
            result.kept.append(name)
    return result


def run_requests(result: Reconciliation, clones: Mapping[str, Clone]) -> list[dg.RunRequest]:
    """A clone per pull request to clone (its task names the commit), a drop per closed pull request's clone (its
    task names the clone as it was created); each run key adds the attempt."""
    to_clone = [
        _request(clone_task(pull), attempt, clone_prod, pull.number, commit=pull.head_sha)
        for pull, attempt in result.clone
    ]
    drops = [
        _request(drop_task(name, clones[name]), attempt, drop_prod_clone, clone_pull_request_id(name))
        for name, attempt in result.drop
    ]
    return to_clone + drops


def _request(task: str, attempt: int, job: dg.JobDefinition, number: int | None, **config: str) -> dg.RunRequest:
    op = job.graph.node_defs[0].name
    return dg.RunRequest(
        run_key=f"{task}-{attempt}",
        job_name=job.name,
        run_config={"ops": {op: {"config": {"pr_id": str(number), **config}}}},
        tags={PULL_REQUEST_TAG: str(number), TASK_TAG: task},
    )


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


def runs_of_pull_requests(instance: dg.DagsterInstance) -> tuple[set[int], Counter[str]]:
    """Pull requests with a clone or drop run in flight; failed (or canceled) runs per task."""
    jobs = (clone_prod.name, drop_prod_clone.name)
    in_flight = {
        int(run.tags[PULL_REQUEST_TAG])
        for job in jobs
        for run in instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=NOT_FINISHED_STATUSES))
        if run.tags.get(PULL_REQUEST_TAG, "").isdigit()
    }
    ended_badly = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    failed = Counter(
        run.tags[TASK_TAG]
        for job in jobs
        for run in instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=ended_badly), limit=500)
        if run.tags.get(TASK_TAG)
    )
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
    for task in result.gave_up:
        context.log.warning(
            f"Gave up on {task}: {MAX_ATTEMPTS} runs failed (see the runs tagged {TASK_TAG}={task}). A new push tries "
            "a clone again; re-executing the last failed run retries either."
        )
    requests = run_requests(result, clones)
    if not requests:
        said = [f"{len(result.kept)} clones up to date"]
        said += [f"waiting for the runs of pull requests {', '.join(map(str, result.busy))}"] if result.busy else []
        said += [f"orphans: {', '.join(result.orphans)}"] if result.orphans else []
        said += [f"gave up on {', '.join(result.gave_up)}"] if result.gave_up else []
        return dg.SkipReason("; ".join(said))
    return dg.SensorResult(run_requests=requests)

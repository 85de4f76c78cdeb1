"""Clones reconciled with the code host: a clone for each open pull request's head commit, none for a closed one.

Production's sensor ``pull_request_clones`` asks the code host (``db_ops.code_host``) which pull requests are open,
and compares that with the clones Snowflake holds:

- an open pull request from the repository gets ``clone_prod`` for its head commit: the run key names the commit,
  so each push is cloned once, however often the sensor asks (a fork's pull request gets no branch deployment, so no
  clone);
- a clone whose pull request is closed or merged gets ``drop_prod_clone``: within minutes of the close, even when the
  close event was lost or never sent (GitHub runs no ``pull_request`` workflow for a pull request with conflicts);
- a clone whose pull request the host does not know is an orphan: reported, and left to the age sweep;
- the clone of an open pull request is never dropped, here or by the sweep.

Pull-request CI therefore never launches anything in production: it needs no production token, and waits for its
clone in its branch deployment (``wait_for_clone`` in hn_assets).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg

from db_ops.code_host import CodeHost, CodeHostError, PullRequest, PullRequestState
from db_ops.ops import clone_prod, drop_prod_clone
from db_ops.sql import databases_created_on
from hn_core.names import clone_pull_request_id

SENSOR_INTERVAL_SECONDS = 120


@dataclass(frozen=True)
class Reconciliation:
    clone: list[PullRequest]  # open pull requests from the repository, each to clone for its head commit
    drop: list[str]  # clones of closed or merged pull requests
    orphans: list[str]  # clones of pull requests the host does not know
    kept: list[str]  # clones of open pull requests


def reconcile(
    open_pull_requests: list[PullRequest],
    clones: Mapping[str, datetime],
    state_of: Callable[[int], PullRequestState],
) -> Reconciliation:
    """What to do; ``state_of`` is asked only about clones whose pull request is not among the open ones."""
    open_numbers = {pull.number for pull in open_pull_requests}
    drop, orphans, kept = [], [], []
    for name in sorted(clones, key=lambda clone: clone_pull_request_id(clone) or 0):
        number = clone_pull_request_id(name)
        if number is None:
            continue
        if number in open_numbers:
            kept.append(name)
            continue
        state = state_of(number)
        {PullRequestState.CLOSED: drop, PullRequestState.UNKNOWN: orphans, PullRequestState.OPEN: kept}[state].append(
            name
        )
    to_clone = sorted((pull for pull in open_pull_requests if not pull.from_fork), key=lambda pull: pull.number)
    return Reconciliation(clone=to_clone, drop=drop, orphans=orphans, kept=kept)


def run_requests(result: Reconciliation, created_on: Mapping[str, datetime]) -> list[dg.RunRequest]:
    """A clone per open pull request's head commit, a drop per closed pull request's clone (as it was created)."""
    clones = [
        dg.RunRequest(
            run_key=f"clone-{pull.number}-{pull.head_sha}",
            job_name=clone_prod.name,
            run_config=_op_config("clone_production_database", pr_id=str(pull.number), commit=pull.head_sha),
            tags={"hn/pull_request": str(pull.number), "hn/commit": pull.head_sha},
        )
        for pull in result.clone
    ]
    drops = [
        dg.RunRequest(
            run_key=f"drop-{name}-{created_on[name]:%Y%m%dT%H%M%S}",
            job_name=drop_prod_clone.name,
            run_config=_op_config("drop_database_clone", pr_id=str(clone_pull_request_id(name))),
            tags={"hn/pull_request": str(clone_pull_request_id(name))},
        )
        for name in result.drop
    ]
    return clones + drops


def _op_config(op: str, **config: str) -> dict[str, Any]:
    return {"ops": {op: {"config": config}}}


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
            created_on = databases_created_on(connection.cursor())
        result = reconcile(open_pull_requests, created_on, code_host.state_of)
    except CodeHostError as error:
        return dg.SkipReason(f"The code host could not be asked, so nothing is cloned or dropped: {error}")
    for name in result.orphans:
        context.log.warning(
            f"{name} belongs to no pull request the code host knows: the age sweep drops it "
            f"(sweep_stale_clones), or drop it now with drop_prod_clone and pr_id {clone_pull_request_id(name)}."
        )
    requests = run_requests(result, created_on)
    if not requests:
        return dg.SkipReason(
            f"{len(result.kept)} clones of open pull requests, none to make or drop"
            + (f"; orphans: {', '.join(result.orphans)}" if result.orphans else "")
        )
    return dg.SensorResult(run_requests=requests)

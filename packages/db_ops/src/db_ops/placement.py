"""Where each database operation may run, decided from the environment when definitions load, and said before launch.

Only production's role owns ``PRODUCTION``, so only production can clone it; production also inherits the branch
role, so it can drop any clone. A branch deployment owns its own clone once production handed it over, so it may
drop that one (and only that one). On a laptop whose warehouse is a DuckDB file, clone and drop work on DuckDB files
beside it (``db_ops.local_clones``), so that the whole pull-request loop can be rehearsed offline. Staging, and a
laptop on Snowflake, hold no clone at all and run none of these operations.

Every job says where it runs before it is launched: its tag ``hn/runs_in``, a sentence of its description, and,
where it may not run, the tag ``hn/runs_here: no``. A launch there fails at once, before its config is read and
before any SQL, with one message naming where to run the job and the run config to use there (``RefusalError``).
"""

import json
from dataclasses import dataclass
from enum import StrEnum

from dagster._core.errors import DagsterUserCodeProcessError
from dagster._utils.error import SerializableErrorInfo

from hn_core.deployment.environment import Environment, Store, Target


class Operation(StrEnum):
    """The db_ops jobs, by name."""

    CLONE = "clone_prod"
    DROP = "drop_prod_clone"
    SWEEP = "sweep_stale_clones"


#: The op of each job: its run config goes under ``ops.<op>.config``.
OPS = {
    Operation.CLONE: "clone_production_database",
    Operation.DROP: "drop_database_clone",
    Operation.SWEEP: "drop_stale_clones",
}

#: Job tags: where the job runs, and (only where it may not) that this deployment refuses it.
RUNS_IN_TAG, RUNS_HERE_TAG = "hn/runs_in", "hn/runs_here"
RUNS_IN = {
    Operation.CLONE: "production, local DuckDB",
    Operation.DROP: "production, its own branch deployment, local DuckDB",
    Operation.SWEEP: "production",
}


@dataclass(frozen=True)
class Deployment:
    """What placement needs to know of the deployment a location runs in."""

    environment: Environment
    local_duckdb: bool = False
    pull_request_id: int | None = None  # a branch deployment's own

    @classmethod
    def of(cls, target: Target) -> "Deployment":
        local_duckdb = target.environment is Environment.LOCAL and target.store is Store.DUCKDB
        return cls(target.environment, local_duckdb, target.pull_request_id)

    @property
    def name(self) -> str:
        if self.environment is Environment.BRANCH:
            return f"pull request {self.pull_request_id}'s branch deployment"
        if self.environment is Environment.LOCAL:
            return f"a laptop whose warehouse is {'a DuckDB file' if self.local_duckdb else 'Snowflake'}"
        return str(self.environment)


PRODUCTION = Deployment(Environment.PRODUCTION)


class RefusalError(DagsterUserCodeProcessError):
    """An expected refusal (the wrong deployment, an id that is not one): the run fails with this message alone.

    Dagster records a raised ``dg.Failure`` with the stack of every framework frame it went through, and shows that
    stack, under the exception's class name, on the step's failure and again on the run's, in the UI and on the
    console. An error that a user code process reported is recorded as that process reported it
    (``serializable_error_info_from_exc_info``): so this one reports the message with no stack and no class name
    (``test_launchpad.py`` checks that Dagster still does). The step and the run fail as they would with
    ``dg.Failure``. The Launchpad cannot refuse with a message of ours before launch: it checks run config against
    the job's config schema alone, in the webserver, without user code (a pydantic validator runs only in the step).
    """

    def __init__(self, message: str) -> None:
        report = SerializableErrorInfo(message=message, stack=[], cls_name=None)
        super().__init__(message, user_code_process_error_infos=[report])
        self.message = message


def is_local_duckdb(target: Target) -> bool:
    """A laptop whose warehouse is a DuckDB file: clones are DuckDB files there (``db_ops.local_clones``)."""
    return Deployment.of(target).local_duckdb


def runs_here(operation: Operation, deployment: Deployment) -> bool:
    """Whether ``operation`` may run in ``deployment`` at all (a branch deployment then only on its own clone)."""
    if deployment.environment is Environment.PRODUCTION:
        return True
    if operation is Operation.SWEEP:
        return False
    if deployment.local_duckdb:
        return True
    return operation is Operation.DROP and deployment.environment is Environment.BRANCH


def run_config(operation: Operation, pull_request_id: int | None = None) -> str:
    """The run config to launch ``operation`` with, as JSON; ``<PR>`` stands for an id not given."""
    if operation is Operation.SWEEP:
        config: dict[str, object] = {"max_age_days": 14, "dry_run": True}
    else:
        config = {"pr_id": str(pull_request_id) if pull_request_id is not None else "<PR>"}
    return json.dumps({"ops": {OPS[operation]: {"config": config}}})


def _in_production(operation: Operation, pull_request_id: int | None) -> str:
    return (
        f"Launch it in the production deployment's db_ops location with run config "
        f"{run_config(operation, pull_request_id)}"
    )


def refusal(operation: Operation, deployment: Deployment, pull_request_id: int | None = None) -> str | None:
    """Why ``operation`` may not run in ``deployment``, naming where to run it and with which run config (for
    ``pull_request_id`` if given); None if it may (a branch deployment's drop: see ``foreign_clone_refusal``)."""
    if runs_here(operation, deployment):
        return None
    here = deployment.name
    on_duckdb = (
        " On a laptop whose warehouse is a DuckDB file (HN_LOCAL_WAREHOUSE unset), it works on DuckDB files beside it."
        if deployment.environment is Environment.LOCAL and operation is not Operation.SWEEP
        else ""
    )
    if operation is Operation.CLONE:
        return (
            f"clone_prod runs only in production, not here ({here}): it clones PRODUCTION with the role that owns "
            f"it, which no other deployment holds, and hands the clone to the branch role. "
            f"{_in_production(operation, pull_request_id)} (its sensor pull_request_clones does so for every open "
            f"pull request).{on_duckdb}"
        )
    if operation is Operation.DROP:
        return (
            f"drop_prod_clone runs in production (or in the pull request's own branch deployment), not here ({here}), "
            f"which holds no clone. {_in_production(operation, pull_request_id)}.{on_duckdb}"
        )
    return (
        f"sweep_stale_clones runs only in production, not here ({here}). Launch it there with run config "
        f"{run_config(operation)} to see what it would drop, then again with dry_run false."
    )


def foreign_clone_refusal(deployment: Deployment, pull_request_id: int) -> str | None:
    """Why a branch deployment may not act on ``pull_request_id``'s clone (another pull request's); None if it may."""
    if deployment.environment is not Environment.BRANCH or pull_request_id == deployment.pull_request_id:
        return None
    return (
        f"This branch deployment belongs to pull request {deployment.pull_request_id}; it may not act on the clone of "
        f"pull request {pull_request_id}. {_in_production(Operation.DROP, pull_request_id)}."
    )


def require_placement(operation: Operation, deployment: Deployment, pull_request_id: int | None = None) -> None:
    """Stop the run with the reason (``RefusalError``) unless ``operation`` may run in ``deployment``."""
    if reason := refusal(operation, deployment, pull_request_id):
        raise RefusalError(reason)


def where_it_runs(operation: Operation, deployment: Deployment) -> str:
    """The sentences of a job's description that say where it runs, and how to launch it, seen from ``deployment``
    (Markdown: the UI renders descriptions)."""
    config = f"`{run_config(operation)}`"
    if not runs_here(operation, deployment):
        elsewhere = {
            Operation.CLONE: "It runs only in production",
            Operation.DROP: "It runs in production, or in the pull request's own branch deployment",
            Operation.SWEEP: "It runs only in production",
        }[operation]
        return (
            f"**Not here** ({deployment.name}): a launch here is refused. {elsewhere}: launch it in the production "
            f"deployment's `db_ops` location with run config {config}."
        )
    if deployment.local_duckdb:
        return {
            Operation.CLONE: "On this laptop it copies the local DuckDB warehouse (`HN_DUCKDB_PATH`) into "
            "`PRODUCTION_CLONE_<pr_id>.duckdb` beside it, with the base schema `HACKER_NEWS_BASE`, to rehearse a pull "
            f"request's data diff: run config {config}. In Dagster+ it runs only in production.",
            Operation.DROP: "On this laptop it deletes `PRODUCTION_CLONE_<pr_id>.duckdb` beside the local DuckDB "
            f"warehouse: run config {config}. In Dagster+ it runs in production.",
        }[operation]
    if deployment.environment is Environment.BRANCH:
        own = f"`{run_config(operation, deployment.pull_request_id)}`"
        return (
            f"Here it drops only this branch deployment's own clone, with run config {own}; any other pull request's "
            "clone is dropped in production."
        )
    return {
        Operation.CLONE: "Runs in production, where the sensor `pull_request_clones` launches it for each open pull "
        f"request's head commit; by hand, with run config {config}.",
        Operation.DROP: "Runs in production, where the sensor `pull_request_clones` launches it for each closed or "
        f"merged pull request's clone; by hand, with run config {config}. A branch deployment may drop its own.",
        Operation.SWEEP: "Runs only in production, daily (schedule `sweep_stale_clones_daily`); run config "
        f"{config} only reports what it would drop.",
    }[operation]


def job_tags(operation: Operation, deployment: Deployment) -> dict[str, str]:
    """``hn/runs_in`` everywhere, and ``hn/runs_here: no`` where ``deployment`` refuses the job."""
    tags = {RUNS_IN_TAG: RUNS_IN[operation]}
    return tags if runs_here(operation, deployment) else {**tags, RUNS_HERE_TAG: "no"}

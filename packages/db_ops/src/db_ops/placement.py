"""Where each database operation may run, decided from the environment before any SQL.

Only production's role owns ``PRODUCTION``, so only production can clone it; production also inherits the branch
role, so it can drop any clone. A branch deployment owns its own clone once production handed it over, so it may
drop that one (and only that one). On a laptop whose warehouse is a DuckDB file, clone and drop work on DuckDB files
beside it (``db_ops.local_clones``), so that the whole pull-request loop can be rehearsed offline. Staging, and a
laptop on Snowflake, hold no clone at all and run none of these operations.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import NoReturn

import dagster as dg
from dagster._core.errors import DagsterUserCodeProcessError
from dagster._utils.error import SerializableErrorInfo

from hn_core.environment import Environment


class Operation(StrEnum):
    """The db_ops jobs, by name."""

    CLONE = "clone_prod"
    DROP = "drop_prod_clone"
    SWEEP = "sweep_stale_clones"


#: The op of each per-pull-request job, whose config takes ``pr_id`` (as CI passes it).
_OPS = {Operation.CLONE: "clone_production_database", Operation.DROP: "drop_database_clone"}


class RefusalError(DagsterUserCodeProcessError):
    """An expected refusal (the wrong deployment, an id that is not one): the run fails with this message alone.

    Dagster records a raised ``dg.Failure`` with the stack of every framework frame it went through, and shows that
    stack, under the exception's class name, on the step's failure and again on the run's, in the UI and on the
    console. An error that a user code process reported is recorded as that process reported it
    (``serializable_error_info_from_exc_info``): so this one reports the message with no stack and no class name
    (the tests check that Dagster still does). The step and the run fail as they would with ``dg.Failure``.
    """

    def __init__(self, message: str) -> None:
        report = SerializableErrorInfo(message=message, stack=[], cls_name=None)
        super().__init__(message, user_code_process_error_infos=[report])
        self.message = message


def _launch_in_production(operation: Operation, pull_request_id: int | None) -> str:
    pr_id = str(pull_request_id) if pull_request_id is not None else "<PR>"
    run_config = json.dumps({"ops": {_OPS[operation]: {"config": {"pr_id": pr_id}}}})
    return f"Launch it in the production deployment's db_ops location with run config {run_config}"


def refusal(
    operation: Operation,
    environment: Environment,
    pull_request_id: int | None = None,
    own_pull_request_id: int | None = None,
    *,
    local_duckdb: bool = False,
) -> str | None:
    """Why ``operation`` may not run here, naming where to run it; None if it may."""
    if environment is Environment.PRODUCTION:
        return None
    if local_duckdb and operation in (Operation.CLONE, Operation.DROP):
        return None
    if operation is Operation.CLONE:
        return (
            f"clone_prod runs only in production, not in {environment}: it clones PRODUCTION with the role that owns "
            f"it, which no other environment holds, and hands the clone to the branch role. "
            f"{_launch_in_production(operation, pull_request_id)} (its sensor pull_request_clones does so for every "
            "open pull request)."
        )
    if operation is Operation.DROP:
        if environment is Environment.BRANCH:
            if pull_request_id is None or pull_request_id == own_pull_request_id:
                return None
            return (
                f"This branch deployment belongs to pull request {own_pull_request_id}; it may not act on the clone "
                f"of pull request {pull_request_id}. Run the job in production with pr_id={pull_request_id} instead."
            )
        return (
            f"drop_prod_clone runs in production (or in the pull request's own branch deployment), not in "
            f"{environment}, which holds no clone. {_launch_in_production(operation, pull_request_id)}."
        )
    return f"The sweeper runs only in production, not in {environment}: launch it there."


def require_placement(
    operation: Operation,
    environment: Environment,
    pull_request_id: int | None = None,
    own_pull_request_id: int | None = None,
    *,
    local_duckdb: bool = False,
) -> None:
    """Stop the run with the reason (``RefusalError``) unless ``operation`` may run here."""
    if reason := refusal(operation, environment, pull_request_id, own_pull_request_id, local_duckdb=local_duckdb):
        raise RefusalError(reason)


class DatabaseOperationsElsewhere(dg.ConfigurableResource):
    """Stands in for ``snowflake`` and ``branch_role`` where no db_ops job may run (staging, local).

    These environments need no Snowflake credentials for db_ops at all. Each op checks where it runs before it
    touches a resource, so a run here fails with that one message (which names where to run the job instead);
    should anything still ask this stand-in for a connection or a role, it refuses the same way.
    """

    environment: str

    def _refuse(self) -> NoReturn:
        raise RefusalError(refusal(Operation.CLONE, Environment(self.environment)) or "")

    def get_connection(self) -> NoReturn:
        self._refuse()

    @property
    def name(self) -> str:
        self._refuse()

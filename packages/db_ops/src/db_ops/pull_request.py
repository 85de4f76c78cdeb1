"""Which pull request a clone or drop run is for: run config first, then the branch deployment's own PR."""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg
from pydantic import Field

from hn_core.environment import Environment, resolve_target
from hn_core.names import InvalidNameError, parse_pull_request_id

PULL_REQUEST_VARIABLE = "DAGSTER_CLOUD_PULL_REQUEST_ID"


class PullRequestConfig(dg.Config):
    """``pr_id`` names the pull request whose clone to create or drop.

    Left empty, it is the PR of the branch deployment the run is in (``DAGSTER_CLOUD_PULL_REQUEST_ID``), which is how
    CI launches ``clone_prod``; production passes it explicitly to drop the clone of a closed PR.
    """

    pr_id: str | None = Field(
        default=None, description="Pull request number; defaults to DAGSTER_CLOUD_PULL_REQUEST_ID."
    )


def resolve_pull_request_id(config: PullRequestConfig, env: Mapping[str, str] | None = None) -> int:
    """The PR id to act on, validated before any SQL runs.

    A branch deployment may act only on its own PR's clone, so a mistyped id cannot drop a colleague's clone.
    """
    env = os.environ if env is None else env
    own = env.get(PULL_REQUEST_VARIABLE)
    requested = config.pr_id if config.pr_id not in (None, "") else own
    if requested in (None, ""):
        raise dg.Failure(
            f"No pull request id: set op config pr_id (e.g. 42) or run in a branch deployment, "
            f"where Dagster+ sets {PULL_REQUEST_VARIABLE}."
        )
    try:
        pull_request_id = parse_pull_request_id(requested)
    except InvalidNameError as error:
        raise dg.Failure(str(error)) from error
    if resolve_target(env).environment is Environment.BRANCH and pull_request_id != parse_pull_request_id(own):
        raise dg.Failure(
            f"This branch deployment belongs to pull request {own}; it may not act on the clone of "
            f"pull request {pull_request_id}. Run the job in production with pr_id={pull_request_id} instead."
        )
    return pull_request_id

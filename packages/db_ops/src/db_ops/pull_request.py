"""Which pull request a clone or drop run is for, and whether this deployment may act on it, before any SQL."""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg
from pydantic import Field

from db_ops.placement import Operation, RefusalError, require_placement
from hn_core.environment import Environment, Store, Target, resolve_target
from hn_core.names import InvalidNameError, parse_commit_sha, parse_pull_request_id

PULL_REQUEST_VARIABLE = "DAGSTER_CLOUD_PULL_REQUEST_ID"


class PullRequestConfig(dg.Config):
    """``pr_id`` names the pull request whose clone to create or drop.

    Production's sensor launches both jobs with ``pr_id`` set. Left empty in a branch deployment, it is that
    deployment's own pull request (``DAGSTER_CLOUD_PULL_REQUEST_ID``).
    """

    pr_id: str | None = Field(
        default=None, description="Pull request number; in a branch deployment, defaults to its own."
    )


class CloneConfig(PullRequestConfig):
    """``pr_id`` as for a drop, and the commit the clone is made for, recorded in the clone for the branch to read."""

    commit: str | None = Field(
        default=None,
        description=(
            "The pull request's head commit the clone is made for, recorded in the clone. Left empty, the run's tag "
            "github/sha or gitlab/sha (which CI sets), if any."
        ),
    )


#: Run tags that may name the commit when ``commit`` is not set: a clone launched by hand with the tags a CI run
#: carries (the sensor sets ``commit`` itself).
COMMIT_TAGS = ("github/sha", "gitlab/sha")


def resolve_commit(config: CloneConfig, tags: Mapping[str, str]) -> str | None:
    """The commit to record, validated before any SQL: ``commit``, else CI's tag; ``None`` when neither is set."""
    given = config.commit or next((tags[tag] for tag in COMMIT_TAGS if tags.get(tag)), None)
    if given in (None, ""):
        return None
    try:
        return parse_commit_sha(given)
    except InvalidNameError as error:
        raise RefusalError(str(error)) from None


def resolve_pull_request_id(
    config: PullRequestConfig, operation: Operation, env: Mapping[str, str] | None = None
) -> int:
    """The PR id to act on, validated, once ``operation`` is known to be allowed here for it.

    Production may act on any pull request; a branch deployment only drop its own clone (so a mistyped id cannot
    drop a colleague's); a laptop on DuckDB its local clones; staging nothing (see ``db_ops.placement``).
    """
    env = os.environ if env is None else env
    own = env.get(PULL_REQUEST_VARIABLE)
    requested = config.pr_id if config.pr_id not in (None, "") else own
    if requested in (None, ""):
        raise RefusalError(
            "No pull request id: set op config pr_id (e.g. 42); in a branch deployment it defaults to its own, "
            f"which Dagster+ sets in {PULL_REQUEST_VARIABLE}."
        )
    try:
        pull_request_id = parse_pull_request_id(requested)
    except InvalidNameError as error:
        raise RefusalError(str(error)) from None
    target = resolve_target(env)
    require_placement(
        operation, target.environment, pull_request_id, target.pull_request_id, local_duckdb=is_local_duckdb(target)
    )
    return pull_request_id


def is_local_duckdb(target: Target) -> bool:
    """A laptop whose warehouse is a DuckDB file: clones are DuckDB files there (``db_ops.local_clones``)."""
    return target.environment is Environment.LOCAL and target.store is Store.DUCKDB

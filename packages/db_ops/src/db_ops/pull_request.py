"""Which pull request a clone or drop run is for, and whether this deployment may act on it, before any SQL."""

import os
from collections.abc import Mapping

import dagster as dg
from pydantic import Field

from db_ops.placement import Deployment, Operation, RefusalError, foreign_clone_refusal, require_placement
from hn_core.deployment.environment import resolve_target
from hn_core.deployment.names import InvalidNameError, parse_commit_sha, parse_pull_request_id


class PullRequestConfig(dg.Config):
    """The pull request whose clone to drop."""

    pr_id: str = Field(description="The pull request's number, e.g. `42` (in a branch deployment, its own).")


class CloneConfig(dg.Config):
    """The pull request whose clone to make, and the commit it is made for (recorded in the clone)."""

    pr_id: str = Field(description="The pull request's number, e.g. `42`.")
    commit: str | None = Field(
        default=None,
        description=(
            "The pull request's head commit the clone is made for, recorded in the clone. Left empty, the run's tag "
            "`github/sha` or `gitlab/sha` (which CI sets), if any."
        ),
    )


class ElsewhereConfig(dg.PermissiveConfig):
    """Nothing is needed here: the job runs in another deployment (its description says which)."""

    pr_id: str | None = Field(
        default=None, description="Optional: the pull request's number, to name in the run config to use there."
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
    config: PullRequestConfig | CloneConfig, operation: Operation, env: Mapping[str, str] | None = None
) -> int:
    """The PR id to act on, validated, once ``operation`` is known to run in this deployment: where it does not, the
    refusal says where it runs whatever ``pr_id`` is.

    Production may act on any pull request; a branch deployment only drop its own clone (so a mistyped id cannot
    drop a colleague's); a laptop on DuckDB its local clones; staging nothing (see ``db_ops.placement``).
    """
    deployment = Deployment.of(resolve_target(os.environ if env is None else env))
    require_placement(operation, deployment, given_pull_request_id(config.pr_id))
    try:
        pull_request_id = parse_pull_request_id(config.pr_id)
    except InvalidNameError as error:
        raise RefusalError(str(error)) from None
    if reason := foreign_clone_refusal(deployment, pull_request_id):
        raise RefusalError(reason)
    return pull_request_id


def given_pull_request_id(pr_id: str | None) -> int | None:
    """``pr_id`` as a number if it is a valid one, for a refusal's run config to name; None otherwise."""
    try:
        return parse_pull_request_id(pr_id) if pr_id else None
    except InvalidNameError:
        return None

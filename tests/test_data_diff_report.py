"""deploy/ci/data_diff_report.py's report for the cases a live loop rarely shows: nothing changed, an asset removed,
a clone made for another commit or before production moved on, checks that could not be read. (The live loop is
tests/test_pull_request_report.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "ci"))
from dagster_plus_graphql import CheckEvaluation, GraphQLError
from data_diff_report import Findings, gather, render

HEAD = "0123456789abcdef0123456789abcdef01234567"
RUN = {"assets": ["comments"], "partition_range": None, "run_id": "6a1b" + "0" * 32, "url": "u", "status": "SUCCESS"}
CLONED_AT = 1_765_000_000.0


def diff(**metadata: object) -> CheckEvaluation:
    return CheckEvaluation("comments_differs_from_base", "comments", True, "WARN", None,
                           {"diff": "### `comments`", **metadata})  # fmt: skip


class Deployment:
    """A deployment's answers, or the error it raises."""

    def __init__(self, evaluations=None, latest=None, error: str = "") -> None:
        self.evaluations, self.latest, self.error = evaluations or [], latest or {}, error
        self.asked: list[tuple[list[str], list[str] | None]] = []

    def check_evaluations(self, run_id: str) -> list[CheckEvaluation]:
        if self.error:
            raise GraphQLError(self.error)
        return self.evaluations

    def latest_materializations(self, assets: list[str], partitions: list[str] | None = None) -> dict[str, float]:
        self.asked.append((assets, partitions))
        if self.error:
            raise GraphQLError(self.error)
        return {asset: self.latest[asset] for asset in assets if asset in self.latest}


def report(changed, removed, runs, branch: Deployment, production: Deployment) -> str:
    return render(gather(Findings(HEAD, "bd", changed, removed, runs), branch, production))


def test_a_change_that_touches_no_asset_says_so() -> None:
    text = report({}, [], [], Deployment(), Deployment())
    assert "This change touches no asset's definition: nothing ran, and the data is production's." in text
    assert "| Run |" not in text


def test_a_removed_asset_is_named_and_not_run() -> None:
    text = report({}, ["top_stories"], [], Deployment(), Deployment())
    assert "**Removed**: `top_stories`: nothing runs it any more; its table stays until dropped by hand." in text
    assert "touches no asset" not in text


def test_a_clone_made_for_another_commit_or_before_production_moved_on_is_said() -> None:
    evaluation = diff(clone_commit="fedcba9876543210", cloned_at=CLONED_AT)
    fresh = report({"comments": ["code_version"]}, [], [RUN], Deployment([evaluation]),
                   Deployment(latest={"comments": CLONED_AT - 60}))  # fmt: skip
    stale = report({"comments": ["code_version"]}, [], [RUN], Deployment([evaluation]),
                   Deployment(latest={"comments": CLONED_AT + 60}))  # fmt: skip

    assert "The clone was made for commit `fedcba987654`, not for this push (`0123456789ab`)" in fresh
    assert "older than production" not in fresh
    assert "Production materialized `comments` at 2025-12-06 05:47:40 UTC, after the clone was made" in stale
    assert "(`HACKER_NEWS_BASE`, made 2025-12-06 05:46:40 UTC)" in stale


def test_what_cannot_be_read_is_said_and_the_rest_is_reported() -> None:
    text = report({"comments": ["code_version"]}, [], [RUN], Deployment(error="HTTP 502"),
                  Deployment(error="HTTP 403 Forbidden"))  # fmt: skip

    assert "The checks of run `6a1b0000` could not be read: HTTP 502" in text
    assert "Production's latest materializations could not be read" in text
    assert "HTTP 403 Forbidden" in text
    assert "| [`6a1b0000`](u) | `comments` |  | SUCCESS |" in text


def test_a_clone_without_a_record_is_said() -> None:
    evaluation = diff(clone_commit="", clone_problem="The clone has no record of when it was made; clone again.")
    text = report({"comments": ["code_version"]}, [], [RUN], Deployment([evaluation]), Deployment())
    assert "> **Note**: The clone has no record of when it was made; clone again." in text


def test_a_partitioned_run_asks_production_about_its_own_partitions_and_says_which_it_compared() -> None:
    hours = ["2026-12-06-17:00", "2026-12-06-18:00", "2026-12-06-19:00"]
    run = {**RUN, "assets": ["item_history"], "partition_range": [hours[0], hours[-1]], "partition_keys": hours}
    evaluation = CheckEvaluation("item_history_differs_from_base", "item_history", True, "WARN", None,
                                 {"diff": "### `item_history`", "cloned_at": CLONED_AT})  # fmt: skip
    production = Deployment(latest={"item_history": CLONED_AT - 1})

    text = report({"item_history": ["code_version"]}, [], [run], Deployment([evaluation]), production)

    assert production.asked == [(["item_history"], hours)]
    assert "### `item_history`\n\n_Partitions compared: 2026-12-06-17:00 to 2026-12-06-19:00._" in text
    assert "older than production" not in text

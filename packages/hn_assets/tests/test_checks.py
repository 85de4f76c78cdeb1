"""Every asset check can fail: each is shown failing on realistic bad data in the stored tables.

The tables are materialized for real into DuckDB, then damaged the way a manual fix, a half-done backfill or a
buggy writer would damage them, and only the checks are run, reading the tables through the I/O manager.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hn_assets.definitions import defs
from hn_testing.hn_api import RunningHNAPI

#: The checks of the guide's tables (the history's checks are per hour: see test_history.py).
CHECKS_ONLY = dg.AssetSelection.checks_for_assets("items", "comments", "stories")


@pytest.fixture
def warehouse(use_environment, tmp_path: Path, hn_api_server: RunningHNAPI) -> Path:
    path = tmp_path / "checks.duckdb"
    use_environment("local", HN_DUCKDB_PATH=str(path), HN_API_BASE_URL=hn_api_server.base_url)
    result = (
        defs()
        .resolve_job_def("refresh_hacker_news")
        .execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": 80}}}})
    )
    assert all(check.passed for check in result.get_asset_check_evaluations())
    return path


def damage(path: Path, *statements: str) -> None:
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)


def run_checks() -> dict[str, dg.AssetCheckEvaluation]:
    job = dg.define_asset_job("checks_only", selection=CHECKS_ONLY)
    definitions = defs()
    checks_job = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def("checks_only")
    evaluations = checks_job.execute_in_process(raise_on_error=False).get_asset_check_evaluations()
    return {evaluation.check_name: evaluation for evaluation in evaluations}


def test_all_checks_pass_on_the_stored_tables(warehouse: Path) -> None:
    assert {name: check.passed for name, check in run_checks().items()} == {
        "items_have_unique_ids": True,
        "items_have_known_types": True,
        "comments_match_items": True,
        "stories_match_items": True,
    }


def test_unique_ids_fails_on_a_row_written_twice(warehouse: Path) -> None:
    damage(
        warehouse,
        "INSERT INTO HACKER_NEWS.ITEMS SELECT * FROM HACKER_NEWS.ITEMS ORDER BY id DESC LIMIT 1",
    )

    check = run_checks()["items_have_unique_ids"]

    assert not check.passed
    assert check.metadata["duplicated_count"].value == 1


def test_known_types_fails_on_an_undocumented_type(warehouse: Path) -> None:
    damage(warehouse, "UPDATE HACKER_NEWS.ITEMS SET type = 'launch' WHERE id = (SELECT min(id) FROM HACKER_NEWS.ITEMS)")

    check = run_checks()["items_have_known_types"]

    assert not check.passed
    assert check.metadata["unknown_types"].value == "launch"


def test_comments_match_items_fails_on_a_missing_and_a_stray_row(warehouse: Path) -> None:
    damage(
        warehouse,
        "DELETE FROM HACKER_NEWS.COMMENTS WHERE id = (SELECT min(id) FROM HACKER_NEWS.COMMENTS)",
        "INSERT INTO HACKER_NEWS.COMMENTS SELECT 999999, parent, time, type, user_id, text, kids, score, title, "
        "descendants, url, dead FROM HACKER_NEWS.COMMENTS LIMIT 1",
    )

    check = run_checks()["comments_match_items"]

    assert not check.passed
    assert check.metadata["ids_not_in_items"].value == "999999"


def test_stories_match_items_fails_on_a_row_of_another_type(warehouse: Path) -> None:
    damage(warehouse, "INSERT INTO HACKER_NEWS.STORIES SELECT * FROM HACKER_NEWS.ITEMS WHERE type = 'comment' LIMIT 1")

    check = run_checks()["stories_match_items"]

    assert not check.passed
    assert check.metadata["rows_of_other_types"].value == 1

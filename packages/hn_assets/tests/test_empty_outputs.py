"""A run whose split is empty (no story among the items) still leaves a typed, empty table behind."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hn_assets.definitions import defs
from hn_offline_api.server import OfflineHNAPI, serve_in_thread

ONLY_COMMENTS = {
    item_id: {"id": item_id, "type": "comment", "by": "pg", "time": 1_700_000_000 + item_id, "parent": 1, "text": "hi"}
    for item_id in range(1, 6)
}


def run_without_stories() -> None:
    with serve_in_thread(OfflineHNAPI(ONLY_COMMENTS)) as base_url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("HN_API_BASE_URL", base_url)
        result = (
            defs()
            .resolve_job_def("refresh_hacker_news")
            .execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": 5}}}})
        )
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())


def test_empty_stories_in_duckdb(use_environment, tmp_path: Path) -> None:
    use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "empty.duckdb"))

    run_without_stories()

    with duckdb.connect(str(tmp_path / "empty.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM HACKER_NEWS.STORIES").fetchone() == (0,)
        columns = connection.execute("DESCRIBE HACKER_NEWS.STORIES").fetchall()
    assert [(name, kind) for name, kind, *_ in columns][:3] == [
        ("id", "BIGINT"),
        ("parent", "BIGINT"),
        ("time", "BIGINT"),
    ]


def test_empty_stories_in_snowflake(use_environment, snowflake_emulator) -> None:
    use_environment("production")

    run_without_stories()

    assert snowflake_emulator.tables("PRODUCTION") == {
        "HACKER_NEWS.ITEMS",
        "HACKER_NEWS.COMMENTS",
        "HACKER_NEWS.STORIES",
    }
    assert snowflake_emulator.execute("SELECT count(*) FROM PRODUCTION.HACKER_NEWS.STORIES") == [(0,)]
    assert len(snowflake_emulator.read_table("PRODUCTION.HACKER_NEWS.COMMENTS")) == 5

"""The local default end to end: real HTTP to the offline server, real DuckDB file, read back with SQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hn_assets.definitions import defs
from hn_core import ITEMS_DTYPES, HNItem, items_frame, most_recent_ids
from hn_testing.hn_api import RunningHNAPI

N = 120


@pytest.fixture
def local_defs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hn_api_server: RunningHNAPI) -> dg.Definitions:
    """The location as ``dagster dev`` loads it on a laptop, pointed at the offline server and a temp file."""
    for name in ("DAGSTER_DEPLOYMENT", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "HN_LOCAL_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HN_DUCKDB_PATH", str(tmp_path / "hn.duckdb"))
    monkeypatch.setenv("HN_API_BASE_URL", hn_api_server.base_url)
    return defs()


def read_table(path: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(f"SELECT * FROM HACKER_NEWS.{table} ORDER BY id").df()


def test_materialize_all_assets_into_duckdb(local_defs: dg.Definitions, tmp_path: Path, hn_fixture_items) -> None:
    result = local_defs.resolve_job_def("refresh_hacker_news").execute_in_process(
        run_config={"ops": {"items": {"config": {"base_item_id": N}}}}
    )

    assert result.success
    expected = items_frame(
        HNItem.model_validate(hn_fixture_items[i])
        for i in most_recent_ids(max(hn_fixture_items), N)
        if hn_fixture_items[i]
    )
    stored = read_table(tmp_path / "hn.duckdb", "ITEMS").astype(dict(ITEMS_DTYPES))
    assert_frame_equal(stored, expected)
    for table, item_type in (("COMMENTS", "comment"), ("STORIES", "story")):
        split = read_table(tmp_path / "hn.duckdb", table).astype(dict(ITEMS_DTYPES))
        assert_frame_equal(split, expected[expected["type"] == item_type].reset_index(drop=True))
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 4
    assert all(check.passed for check in checks)

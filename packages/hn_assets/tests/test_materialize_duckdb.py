"""The local default end to end: real HTTP to the offline server, real DuckDB file, read back with SQL."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap  # what the UI is served
from pandas.testing import assert_frame_equal

from hn_assets.definitions import defs
from hn_core.hn_api import ITEMS_DTYPES, HNItem, most_recent_ids
from hn_core.transforms import items_frame
from hn_testing.hn_api import RunningHNAPI

N = 120
#: Metadata keys as the UI lists them beside Dagster's own: snake_case, under Dagster's namespace or none.
SNAKE_CASE_KEY = re.compile(r"(dagster/)?[a-z][a-z0-9_]*")
#: What every materialization of the tables reports besides the fetch's findings (``<kind>_ids`` where any).
TABLE_KEYS = {"environment", "dagster/row_count", "first_id", "last_id", "dead_count", "preview"}
STORED_KEYS = {"dagster/storage_kind", "dagster/table_name", "query"}
FETCH_COUNTS = {"deleted_count", "missing_count", "failed_count", "duplicate_answer_count"}
TABLES = {"items": "ITEMS", "comments": "COMMENTS", "stories": "STORIES"}


@pytest.fixture
def local_defs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hn_api_server: RunningHNAPI) -> dg.Definitions:
    """The location as ``dagster dev`` loads it on a laptop, pointed at the offline server and a temp file."""
    for name in ("DAGSTER_DEPLOYMENT", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "HN_LOCAL_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HN_DUCKDB_PATH", str(tmp_path / "hn.duckdb"))
    monkeypatch.setenv("HN_API_BASE_URL", hn_api_server.base_url)
    return defs()


def values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata``'s values as the UI shows them, after checking that none is a blank cell under an odd key."""
    shown = {key: getattr(value, "value", value) for key, value in metadata.items()}
    assert [key for key in shown if not SNAKE_CASE_KEY.fullmatch(key)] == []
    assert [key for key, value in shown.items() if value in ("", None, [], {})] == []
    return shown


def preview_ids(preview: str) -> list[int]:
    """The ``id`` column of a Markdown preview, top to bottom (a wrapped text continues on rows without an id)."""
    cells = [row.strip("|").split("|")[0].strip() for row in preview.splitlines()[2:]]
    return [int(cell) for cell in cells if cell]


def read_table(path: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(f"SELECT * FROM HACKER_NEWS.{table} ORDER BY id").df()


def test_materialize_all_assets_into_duckdb(
    local_defs: dg.Definitions, tmp_path: Path, hn_api_server: RunningHNAPI, hn_fixture_items
) -> None:
    result = local_defs.resolve_job_def("refresh_hacker_news").execute_in_process(
        run_config={"ops": {"items": {"config": {"base_item_id": N}}}}
    )

    assert result.success
    ids = most_recent_ids(max(hn_fixture_items), N)
    expected = items_frame(HNItem.validate(hn_fixture_items[i]) for i in ids if hn_fixture_items[i])
    stored = read_table(tmp_path / "hn.duckdb", "ITEMS").astype(dict(ITEMS_DTYPES))
    assert_frame_equal(stored, expected)
    for table, item_type in (("COMMENTS", "comment"), ("STORIES", "story")):
        split = read_table(tmp_path / "hn.duckdb", table).astype(dict(ITEMS_DTYPES))
        assert_frame_equal(split, expected[expected["type"] == item_type].reset_index(drop=True))
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 4
    assert all(check.passed for check in checks)
    for check in checks:
        values(check.metadata)

    # What the UI shows: one key per fact, the environment and the API fetched from, the table as DuckDB names it
    # (not the file's path), previews newest first.
    metadata = {name: values(result.asset_materializations_for_node(name)[0].metadata) for name in TABLES}
    items = metadata["items"]
    fetched = {"hn_api_url", "id_count", "deleted_ids", "missing_ids"}  # no id failed, none was answered twice
    assert set(items) == TABLE_KEYS | STORED_KEYS | FETCH_COUNTS | fetched
    assert (items["environment"], items["hn_api_url"]) == ("local", hn_api_server.base_url)
    assert (items["first_id"], items["last_id"], items["id_count"]) == (ids.start, ids.stop - 1, N)
    assert set(metadata["comments"]) == set(metadata["stories"]) == TABLE_KEYS | STORED_KEYS
    for name, table in TABLES.items():
        assert metadata[name]["environment"] == "local"
        assert metadata[name]["dagster/table_name"] == f"HACKER_NEWS.{table}"
        assert metadata[name]["query"] == f"SELECT * FROM HACKER_NEWS.{table}"
        newest = sorted(read_table(tmp_path / "hn.duckdb", table)["id"], reverse=True)[:10]
        assert preview_ids(metadata[name]["preview"]) == newest

    # The resource shows the URL its runs fetch from, in the repository snapshot the UI is served.
    snapshot = RepositorySnap.from_def(local_defs.get_repository_def())
    [hn_client] = [resource for resource in snapshot.resources if resource.name == "hn_client"]
    assert hn_client.configured_values["base_url"] == json.dumps(hn_api_server.base_url)

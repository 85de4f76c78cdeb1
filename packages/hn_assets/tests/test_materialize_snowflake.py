"""Staging, production and a branch against the Snowflake emulator: each writes its own database, nothing else."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

from hn_assets.definitions import defs
from hn_core.hn_api import ITEMS_DTYPES, HNItem, most_recent_ids
from hn_core.transforms import items_frame
from hn_testing.hn_api import RunningHNAPI

N = 90
TABLES = {"HACKER_NEWS.ITEMS", "HACKER_NEWS.COMMENTS", "HACKER_NEWS.STORIES"}


def stored_items(emulator, database: str):
    """``ITEMS`` as the Snowflake I/O manager reads it back, typed like the asset's frame."""
    frame = emulator.read_table(f"{database}.HACKER_NEWS.ITEMS").rename(columns=str.lower)
    return frame.astype(dict(ITEMS_DTYPES)).sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize(
    ("environment", "pull_request_id", "database"),
    [("staging", None, "STAGING"), ("production", None, "PRODUCTION"), ("branch", 42, "PRODUCTION_CLONE_42")],
)
def test_each_environment_writes_only_its_own_database(
    environment, pull_request_id, database, use_environment, snowflake_emulator, hn_api_server: RunningHNAPI
) -> None:
    use_environment(environment, pull_request_id, HN_API_BASE_URL=hn_api_server.base_url)
    if environment == "branch":
        snowflake_emulator.create_database(database)  # clone_prod made it; see db_ops for the clone itself
    before = {name: snowflake_emulator.tables(name) for name in snowflake_emulator.databases()}

    result = (
        defs()
        .resolve_job_def("refresh_hacker_news")
        .execute_in_process(run_config={"ops": {"items": {"config": {"base_item_id": N}}}})
    )

    assert result.success
    after = {name: snowflake_emulator.tables(name) for name in snowflake_emulator.databases()}
    assert after == {**before, database: TABLES}
    items = hn_api_server.items
    expected = items_frame(HNItem.validate(items[i]) for i in most_recent_ids(max(items), N) if items[i])
    assert_frame_equal(stored_items(snowflake_emulator, database), expected)
    assert all(check.passed for check in result.get_asset_check_evaluations())
    # Each materialization names its environment and the table as Snowflake does; items, the API it fetched from.
    name = f"branch (pull request {pull_request_id})" if pull_request_id else environment
    for asset in ("items", "comments", "stories"):
        metadata = result.asset_materializations_for_node(asset)[0].metadata
        assert metadata["environment"].value == name
        assert metadata["dagster/table_name"].value == f"{database}.HACKER_NEWS.{asset.upper()}"
        assert ("hn_api_url" in metadata) == (asset == "items")
    assert result.asset_materializations_for_node("items")[0].metadata["hn_api_url"].value == hn_api_server.base_url

"""The asset bodies as plain functions, on the in-memory client: no server, no warehouse."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hn_assets import ItemsConfig, comments, items, stories
from hn_core import ITEMS_COLUMNS, ITEMS_DTYPES, StubHNClient

STORY = {
    "id": 101,
    "type": "story",
    "by": "dang",
    "time": 1_700_000_000,
    "title": "Show HN",
    "score": 10,
    "kids": [102],
}
COMMENT = {"id": 102, "type": "comment", "by": "tptacek", "time": 1_700_000_060, "parent": 101, "text": "Nice"}
JOB = {"id": 104, "type": "job", "by": "yc", "time": 1_700_000_120, "title": "Hiring", "url": "https://example.com/j"}
DELETED = {"id": 103, "deleted": True, "type": "comment", "time": 1_700_000_090}
STUB_DATA = {
    100: {"id": 100, "type": "story", "by": "pg", "time": 1_699_999_000, "title": "Too old to be fetched"},
    101: STORY,
    102: COMMENT,
    103: DELETED,
    104: JOB,
    105: None,
    106: {**COMMENT, "text": "the same comment, served again under another id"},
}


def typed(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=list(ITEMS_COLUMNS)).astype(dict(ITEMS_DTYPES))


EXPECTED_STORY = {
    "id": 101,
    "time": 1_700_000_000,
    "type": "story",
    "user_id": "dang",
    "kids": "[102]",
    "score": 10,
    "title": "Show HN",
}
EXPECTED_COMMENT = {
    "id": 102,
    "parent": 101,
    "time": 1_700_000_060,
    "type": "comment",
    "user_id": "tptacek",
    "text": "Nice",
}
EXPECTED_JOB = {
    "id": 104,
    "time": 1_700_000_120,
    "type": "job",
    "user_id": "yc",
    "title": "Hiring",
    "url": "https://example.com/j",
}


def run_items(count: int, data: dict | None = None, **config) -> pd.DataFrame:
    with dg.build_asset_context() as context:
        return items(
            context=context,
            config=ItemsConfig(base_item_id=count, **config),
            hn_client=StubHNClient(STUB_DATA if data is None else data),
        )


def split(asset: dg.AssetsDefinition, all_items: pd.DataFrame) -> pd.DataFrame:
    with dg.build_asset_context() as context:
        return asset(context=context, items=all_items)


def test_items_fetches_the_n_most_recent_without_tombstones_or_duplicates() -> None:
    frame = run_items(6)

    assert_frame_equal(frame, typed([EXPECTED_STORY, EXPECTED_COMMENT, EXPECTED_JOB]))


def test_comments_and_stories_split_items() -> None:
    all_items = typed([EXPECTED_STORY, EXPECTED_COMMENT, EXPECTED_JOB])

    assert_frame_equal(split(comments, all_items), typed([EXPECTED_COMMENT]))
    assert_frame_equal(split(stories, all_items), typed([EXPECTED_STORY]))


def test_only_null_items_give_typed_empty_tables() -> None:
    frame = run_items(2, {1: None, 2: None})

    assert_frame_equal(frame, typed([]))
    assert_frame_equal(split(stories, frame), typed([]))


def test_failed_items_fail_the_run_naming_them() -> None:
    data = {1: STORY, 3: COMMENT}  # id 2 is unknown to the stub: it fails like an item that keeps erroring

    with pytest.raises(dg.Failure, match=r"1 of 3 items could not be fetched .*: 2\. First error"):
        run_items(3, data)


def test_failed_items_within_the_allowance_are_recorded() -> None:
    with dg.build_asset_context() as context:
        frame = items(
            context=context,
            config=ItemsConfig(base_item_id=3, max_failed_items=1),
            hn_client=StubHNClient({1: STORY, 3: COMMENT}),
        )
        metadata = context.get_output_metadata("result")

    assert frame["id"].tolist() == [101, 102]
    assert metadata["failed_ids"] == "2"
    assert metadata["dagster/row_count"] == 2


def test_items_metadata_counts_what_was_dropped() -> None:
    with dg.build_asset_context() as context:
        items(context=context, config=ItemsConfig(base_item_id=6), hn_client=StubHNClient(STUB_DATA))
        metadata = context.get_output_metadata("result")

    assert metadata["dagster/row_count"] == 3
    assert (metadata["min_id"], metadata["max_id"]) == (101, 104)
    assert (metadata["missing_ids"], metadata["deleted_ids"]) == ("105", "103")
    assert (metadata["requested"], metadata["max_item_id"]) == (6, 106)
    assert "Show HN" in metadata["preview"].value


@pytest.mark.parametrize("count", [0, -1])
def test_non_positive_n_is_refused_by_config(count: int) -> None:
    with pytest.raises(Exception, match="greater than 0"):
        ItemsConfig(base_item_id=count)


def test_n_beyond_the_newest_item_is_refused() -> None:
    with pytest.raises(ValueError, match="ask for at most 106 items"):
        run_items(107)

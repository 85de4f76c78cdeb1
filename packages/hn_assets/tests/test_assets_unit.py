"""The asset bodies as plain functions, on the in-memory client: no server, no warehouse."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hn_assets import ItemsConfig, comments, items, stories
from hn_core.hn_api import ITEMS_COLUMNS, ITEMS_DTYPES, StubHNClient

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
    106: {**COMMENT, "id": 106, "text": "a later reply"},
}


def typed(records: list[dict]) -> pd.DataFrame:
    rows = [{"dead": False, **record} for record in records]  # the API leaves `dead` out unless true
    return pd.DataFrame.from_records(rows, columns=list(ITEMS_COLUMNS)).astype(dict(ITEMS_DTYPES))


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


def test_items_fetches_the_n_most_recent_without_tombstones() -> None:
    frame = run_items(6)

    later_reply = {**EXPECTED_COMMENT, "id": 106, "text": "a later reply"}
    assert_frame_equal(frame, typed([EXPECTED_STORY, EXPECTED_COMMENT, EXPECTED_JOB, later_reply]))


def test_an_answer_carrying_another_id_is_that_id_s_failure_and_counted_as_a_duplicate() -> None:
    data = {**STUB_DATA, 106: COMMENT}  # the API serves item 102 again, in place of 106

    with pytest.raises(
        dg.Failure, match=r"1 of 6 items failed .*: 106\. First error: Item 106: the API served item 102"
    ):
        run_items(6, data)
    with dg.build_asset_context() as context:
        frame = items(
            context=context, config=ItemsConfig(base_item_id=6, max_failed_items=1), hn_client=StubHNClient(data)
        )
        metadata = context.get_output_metadata("result")

    assert frame["id"].tolist() == [101, 102, 104]
    assert (metadata["failed_ids"], metadata["duplicate_answer_ids"]) == ("106", "106")


def test_comments_and_stories_split_items() -> None:
    all_items = typed([EXPECTED_STORY, EXPECTED_COMMENT, EXPECTED_JOB])

    assert_frame_equal(split(comments, all_items), typed([EXPECTED_COMMENT]))
    assert_frame_equal(split(stories, all_items), typed([EXPECTED_STORY]))


def test_a_split_without_rows_is_an_empty_typed_table() -> None:
    assert_frame_equal(split(stories, typed([EXPECTED_COMMENT])), typed([]))


def test_an_api_answering_null_for_every_id_fails_before_writing() -> None:
    with pytest.raises(
        dg.Failure, match=r"^Nothing was written.*60 of 60 items were null .*: 1, 2, 3.*; none of the 60"
    ):
        run_items(60, dict.fromkeys(range(1, 61)))


def test_too_many_null_answers_fail_before_writing_once_past_the_grace_count() -> None:
    data = {101: STORY, 102: COMMENT, 103: None, 104: None}

    with pytest.raises(
        dg.Failure, match=r"2 of 4 items were null \(max_missing_share is 0.2 past missing_grace_count 1\): 103, 104"
    ):
        run_items(4, data, missing_grace_count=1)
    assert run_items(4, data, missing_grace_count=1, max_missing_share=0.5)["id"].tolist() == [101, 102]
    assert run_items(4, data)["id"].tolist() == [101, 102], "two null answers are within the default grace count"


def test_a_stretch_of_never_created_ids_is_not_counted_as_null_answers() -> None:
    live = {i: {**COMMENT, "id": i} for i in range(1, 201)}
    stretch = {**live, **dict.fromkeys(range(50, 130))}  # 80 ids in a row never created: HN has such stretches
    scattered = {**live, **dict.fromkeys(range(2, 162, 2))}  # 80 nulls all over: an API failing

    assert len(run_items(200, stretch)) == 120
    with pytest.raises(dg.Failure, match=r"80 of 200 items were null \(max_missing_share is 0.2 past"):
        run_items(200, scattered)


def test_only_deleted_items_fail_before_writing() -> None:
    with pytest.raises(dg.Failure, match=r"none of the 1 items requested is a live item"):
        run_items(1, {103: DELETED})


def test_failed_items_fail_the_run_naming_them() -> None:
    data = {100: STUB_DATA[100], 101: STORY}  # 99 is unknown to the stub: it fails like an item that keeps erroring

    with pytest.raises(dg.Failure, match=r"1 of 3 items failed \(max_failed_items is 0\): 99\. First error"):
        run_items(3, data)


def test_failed_items_within_the_allowance_are_recorded() -> None:
    with dg.build_asset_context() as context:
        frame = items(
            context=context,
            config=ItemsConfig(base_item_id=3, max_failed_items=1),
            hn_client=StubHNClient({101: STORY, 103: {**COMMENT, "id": 103}}),
        )
        metadata = context.get_output_metadata("result")

    assert frame["id"].tolist() == [101, 103]
    assert metadata["failed_ids"] == "102"
    assert metadata["dagster/row_count"] == 2


def test_items_metadata_counts_what_was_dropped(use_environment) -> None:
    use_environment("local")
    with dg.build_asset_context() as context:
        items(context=context, config=ItemsConfig(base_item_id=6), hn_client=StubHNClient(STUB_DATA))
        metadata = context.get_output_metadata("result")

    preview = metadata.pop("preview").value
    # One key per fact: the ids fetched once (no min_id/max_id/max_item_id beside them), ids listed only where
    # there are some. The in-memory client has no URL (the HTTP client's is tested end to end).
    assert metadata == {
        "environment": "local",
        "dagster/row_count": 4,
        "first_id": 101,
        "last_id": 106,
        "id_count": 6,
        "dead_count": 0,
        "deleted_count": 1,
        "deleted_ids": "103",
        "missing_count": 1,
        "missing_ids": "105",
        "failed_count": 0,
        "duplicate_answer_count": 0,
    }
    assert "Show HN" in preview


@pytest.mark.parametrize("count", [0, -1])
def test_non_positive_n_is_refused_by_config(count: int) -> None:
    with pytest.raises(Exception, match="greater than 0"):
        ItemsConfig(base_item_id=count)


def test_n_beyond_the_newest_item_is_refused() -> None:
    with pytest.raises(ValueError, match="ask for at most 106 items"):
        run_items(107)

"""The pure transforms: exact columns, stable dtypes, tombstones dropped, nothing else dropped."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hn_core.hn_api import ITEMS_COLUMNS, ITEMS_DTYPES, HNItem
from hn_core.transforms import comments_frame, stories_frame
from hn_core.transforms import items_frame as items_frame_of_models


def items_frame(answers: list[dict]) -> pd.DataFrame:
    """The transform over the items the API answered, validated as the clients validate them."""
    return items_frame_of_models(HNItem.validate(answer) for answer in answers)


def expected_frame(records: list[dict]) -> pd.DataFrame:
    """A frame written out by hand, typed like the transform promises."""
    rows = [{"dead": False, **record} for record in records]  # the API leaves `dead` out unless true
    return pd.DataFrame.from_records(rows, columns=list(ITEMS_COLUMNS)).astype(dict(ITEMS_DTYPES))


STORY = {
    "id": 1,
    "type": "story",
    "by": "pg",
    "time": 1160418111,
    "title": "Y Combinator",
    "url": "http://ycombinator.com",
    "score": 57,
    "descendants": 2,
    "kids": [2, 3],
}
COMMENT = {"id": 2, "type": "comment", "by": "norvig", "time": 1160418628, "parent": 1, "text": "Aw shucks"}
JOB = {"id": 4, "type": "job", "by": "justin", "time": 1210981217, "title": "Justin.tv is hiring", "score": 6}


def test_rows_become_typed_items_with_user_id() -> None:
    frame = items_frame([COMMENT, STORY])

    expected = expected_frame(
        [
            {
                "id": 1,
                "time": 1160418111,
                "type": "story",
                "user_id": "pg",
                "kids": "[2,3]",
                "score": 57,
                "title": "Y Combinator",
                "descendants": 2,
                "url": "http://ycombinator.com",
            },
            {
                "id": 2,
                "parent": 1,
                "time": 1160418628,
                "type": "comment",
                "user_id": "norvig",
                "text": "Aw shucks",
            },
        ]
    )
    assert_frame_equal(frame, expected)


def test_empty_input_has_every_column_and_dtype() -> None:
    frame = items_frame([])

    assert list(frame.columns) == list(ITEMS_COLUMNS)
    assert frame.dtypes.astype(str).to_dict() == dict(ITEMS_DTYPES)
    assert frame.empty


def test_deleted_items_are_dropped_dead_items_kept() -> None:
    deleted = {"id": 3, "deleted": True, "type": "comment", "time": 1160419000}
    dead = {**COMMENT, "id": 5, "dead": True}

    frame = items_frame([STORY, deleted, dead])

    assert frame["id"].tolist() == [1, 5]


def test_an_id_given_twice_stays_twice_for_the_unique_ids_check() -> None:
    edited = {**COMMENT, "text": "edited later"}

    frame = items_frame([COMMENT, edited, STORY])

    assert frame["id"].tolist() == [1, 2, 2]
    assert frame["text"].tolist()[1:] == ["Aw shucks", "edited later"]


def test_missing_optional_fields_are_null_not_zero() -> None:
    frame = items_frame([{"id": 9, "type": "story"}])

    row = frame.iloc[0]
    assert row["id"] == 9
    assert all(pd.isna(row[name]) for name in ITEMS_COLUMNS if name not in ("id", "type", "dead"))
    assert not row["dead"], "an item the site did not flag is not dead"


def test_fields_outside_the_model_are_ignored() -> None:
    frame = items_frame([{**JOB, "parts": [7, 8], "poll": 3, "dead": False}])

    assert list(frame.columns) == list(ITEMS_COLUMNS)


def test_split_by_type_keeps_dtypes_and_reindexes() -> None:
    items = items_frame([STORY, COMMENT, JOB, {**COMMENT, "id": 6}])

    assert_frame_equal(comments_frame(items), items_frame([COMMENT, {**COMMENT, "id": 6}]))
    assert_frame_equal(stories_frame(items), items_frame([STORY]))


def test_split_of_a_frame_read_back_from_a_warehouse_is_retyped() -> None:
    """Warehouses return their own dtypes (float for an integer column with NULLs, object for text)."""
    stored = items_frame([STORY, COMMENT, {**COMMENT, "id": 6, "parent": None, "by": None}])
    read_back = stored.astype(object).where(stored.notna(), None)
    read_back["parent"] = read_back["parent"].astype(float)

    assert_frame_equal(comments_frame(read_back), comments_frame(stored))
    assert comments_frame(read_back).dtypes.astype(str).to_dict() == dict(ITEMS_DTYPES)


@pytest.mark.parametrize("split", [comments_frame, stories_frame])
def test_split_of_empty_items_is_empty_and_typed(split) -> None:
    assert_frame_equal(split(items_frame([])), items_frame([]))

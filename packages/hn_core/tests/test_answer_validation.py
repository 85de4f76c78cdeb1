"""Every answer is checked against the HN API's documented item, per id: nothing is coerced, nothing dropped."""

from __future__ import annotations

import pytest

from hn_core.hn_api import HNItem, validate_answer
from hn_core.hn_api.client import InvalidAnswerError

COMMENT = {"id": 7, "type": "comment", "by": "pg", "time": 1_700_000_000, "parent": 1, "text": "hello", "kids": [8]}


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({**COMMENT, "id": 7.5}, "id"),
        ({**COMMENT, "score": "12"}, "score"),
        ({**COMMENT, "time": 1.5}, "time"),
        ({**COMMENT, "parent": "x"}, "parent"),
        ({**COMMENT, "kids": 5}, "kids"),
        ({**COMMENT, "kids": "123"}, "kids"),
        ({**COMMENT, "kids": [8, "9"]}, "kids.1"),
        ({**COMMENT, "text": {"html": "<p>hi</p>"}}, "text"),
        ({**COMMENT, "deleted": "false"}, "deleted"),
        ({**COMMENT, "dead": 1}, "dead"),
        ({**COMMENT, "score": True}, "score"),
        ({**COMMENT, "text": "bad \ud800 surrogate"}, "text"),
        ({**COMMENT, "by": ["pg"]}, "by"),
        ({**COMMENT, "time": -5}, "time"),
        ({**COMMENT, "descendants": 2**64}, "descendants"),
    ],
)
def test_a_malformed_field_fails_that_id_naming_the_field(answer: dict, field: str) -> None:
    with pytest.raises(InvalidAnswerError, match=rf"^Item 7: invalid item \(.*{field}: ") as caught:
        validate_answer(7, answer)

    assert caught.value.served_id is None


@pytest.mark.parametrize("answer", [[COMMENT], "comment", 7, True])
def test_an_answer_that_is_not_an_object_fails_that_id(answer: object) -> None:
    with pytest.raises(InvalidAnswerError, match=r"^Item 7: expected a JSON object or null, got "):
        validate_answer(7, answer)


def test_an_answer_carrying_another_id_fails_and_records_the_id_served() -> None:
    with pytest.raises(InvalidAnswerError, match=r"^Item 9: the API served item 7 in its place$") as caught:
        validate_answer(9, COMMENT)

    assert caught.value.served_id == 7


def test_null_is_a_missing_item_not_a_failure() -> None:
    assert validate_answer(7, None) is None


def test_a_valid_answer_keeps_every_documented_field_and_ignores_new_ones() -> None:
    item = validate_answer(7, {**COMMENT, "dead": True, "some_future_field": {"x": 1}})

    assert item == HNItem(
        id=7, type="comment", by="pg", time=1_700_000_000, parent=1, text="hello", kids=[8], dead=True
    )


def test_a_deleted_item_is_valid_with_its_tombstone_fields_only() -> None:
    item = validate_answer(3, {"id": 3, "deleted": True, "type": "comment", "time": 1_700_000_000})

    assert item is not None
    assert item.deleted
    assert item.by is None

"""Every answer is checked against the HN API's documented item, per id: nothing is coerced, nothing dropped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from hn_core.hn_api import HNItem, validate_answer
from hn_core.hn_api.client import InvalidAnswerError, item_from_json

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
        ({**COMMENT, "kids": [8, "9"]}, "kids[1]"),
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
    with pytest.raises(InvalidAnswerError, match=rf"^Item 7: invalid item \({re.escape(field)}: ") as caught:
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


def _outcome(check: Callable[[], HNItem | None]) -> HNItem | str | None:
    """What a check returns, or the error it raises (``json.loads``' own for a body that is not JSON)."""
    try:
        return check()
    except (InvalidAnswerError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(COMMENT).encode(),
        json.dumps({**COMMENT, "kids": [8, 9], "some_future_field": [1, {"x": None}]}).encode(),
        b"null",
        b" null\n",
        b'{"id": 7, "type": "story", "id": 9}',  # duplicate keys: the last one counts, as in json.loads
        b'{"id": 7, "text": 5, "text": "fine"}',
        b'{"id": 7, "text": "fine", "text": 5}',
        b'{"id": 7, "text": "bad \\ud800 surrogate"}',  # a lone surrogate, escaped
        b'{"id": 7, "text": "\\ud83d\\ude00"}',  # a surrogate pair: one character
        b'{"id": 7, "text": "\xed\xa0\x80"}',  # a surrogate encoded in UTF-8, which json.loads lets through
        b'\xef\xbb\xbf{"id": 7}',  # a byte order mark, which json.loads accepts
        '{"id": 7, "by": "pg"}'.encode("utf-16"),  # UTF-16, which json.loads detects
        b'{"id": 7, "future": NaN, "later": Infinity}',
        b'{"id": 7, "time": 1.0}',
        b'{"id": 7, "score": 1e2}',
        b'{"id": 7, "deleted": 1}',
        b'{"id": true}',
        b'{"id": 9}',  # another item's id
        b'{"id": 7, "future": ' + b"[" * 600 + b"]" * 600 + b"}",  # deep nesting in a field neither path keeps
        b'{"id": 7, "future": "\xff"}',  # not UTF-8, in a field msgspec skips unread
        b'{"id": 7, "future": "\xc0\x80", "by": "pg"}',
        b"[7]",
        b'"comment"',
    ],
)
def test_the_fast_path_from_json_bytes_agrees_with_parsing_then_validating(body: bytes) -> None:
    def parse() -> object:
        return json.loads(body)

    assert _outcome(lambda: item_from_json(7, body, parse)) == _outcome(lambda: validate_answer(7, parse()))


def test_the_fast_path_leaves_malformed_json_to_the_callers_parser() -> None:
    def parse() -> object:
        raise ValueError("the caller's parser ran")

    with pytest.raises(ValueError, match="the caller's parser ran"):
        item_from_json(7, b'{"id": 7,', parse)


def test_an_invalid_element_of_a_list_is_named_with_its_value() -> None:
    with pytest.raises(InvalidAnswerError, match=r"^Item 7: invalid item \(kids\[2\]: .* \(got 'x'\)\)$"):
        validate_answer(7, {**COMMENT, "kids": [8, 9, "x", 10]})


def test_the_one_answer_the_paths_judge_differently_is_a_huge_integer_in_an_unknown_field() -> None:
    body = b'{"id": 7, "future": ' + b"9" * 5000 + b"}"

    with pytest.raises(ValueError, match="digits"):
        json.loads(body)
    assert item_from_json(7, body, lambda: json.loads(body)) == HNItem(id=7)

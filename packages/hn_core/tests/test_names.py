"""Database names are built and checked in one place; nothing dangerous gets through."""

from __future__ import annotations

import pytest

from hn_core.deployment.names import (
    InvalidNameError,
    clone_database_name,
    clone_pull_request_id,
    parse_pull_request_id,
    validate_clone_name,
    validate_identifier,
)


@pytest.mark.parametrize(("value", "expected"), [("42", 42), (42, 42), (" 7 ", 7), ("0012", 12)])
def test_pull_request_ids_are_digits(value: object, expected: int) -> None:
    assert parse_pull_request_id(value) == expected


@pytest.mark.parametrize(
    "value", [None, "", "abc", "-1", "0", "4 2", "42; DROP DATABASE PRODUCTION", "1e3", "\uff14\uff12"]
)
def test_anything_else_is_not_a_pull_request_id(value: object) -> None:
    with pytest.raises(InvalidNameError, match="positive whole number"):
        parse_pull_request_id(value)


def test_clone_names_round_trip() -> None:
    assert clone_database_name("42") == "PRODUCTION_CLONE_42"
    assert clone_pull_request_id("PRODUCTION_CLONE_42") == 42
    assert validate_clone_name("PRODUCTION_CLONE_42") == "PRODUCTION_CLONE_42"


@pytest.mark.parametrize(
    "name",
    ["PRODUCTION", "STAGING", "PRODUCTION_CLONE_", "PRODUCTION_CLONE_4X", 'PRODUCTION_CLONE_1"', "production_clone_1",
     "PRODUCTION_CLONE_1 ", "PRODUCTION_CLONE_1; DROP DATABASE PRODUCTION", "PRODUCTIONXCLONEX1", "PRODUCTION_CLONE_0",
     "PRODUCTION_CLONE_007"],
)  # fmt: skip
def test_only_clone_names_pass_the_clone_check(name: str) -> None:
    assert clone_pull_request_id(name) is None
    with pytest.raises(InvalidNameError, match="only clones named PRODUCTION_CLONE_<pull request number>"):
        validate_clone_name(name)


@pytest.mark.parametrize("name", ['A"B', "A B", "1ABC", "", "a-b", "ALICE;"])
def test_identifiers_are_plain_upper_case(name: str) -> None:
    with pytest.raises(InvalidNameError, match="unquoted Snowflake identifier"):
        validate_identifier(name)

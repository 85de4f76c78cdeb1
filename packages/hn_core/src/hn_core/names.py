"""Snowflake database names: the one place that builds and validates them.

Identifiers reach SQL in ``CREATE``/``DROP DATABASE`` statements, where they cannot be bound as parameters, so every
name is checked against a strict pattern instead of being pasted from input.
"""

from __future__ import annotations

import re

PRODUCTION_DATABASE = "PRODUCTION"
CLONE_PREFIX = f"{PRODUCTION_DATABASE}_CLONE_"
HACKER_NEWS_SCHEMA = "HACKER_NEWS"
#: The schema of a clone that keeps production's tables as of the clone, read-only, for diffs.
BASE_SCHEMA = f"{HACKER_NEWS_SCHEMA}_BASE"

_IDENTIFIER = re.compile(r"[A-Z_][A-Z0-9_$]{0,254}")
_PULL_REQUEST_ID = re.compile(r"[0-9]{1,18}")
#: Exactly the names ``clone_database_name`` makes: no leading zeros, no ``_0``, so that a hand-made database
#: such as ``PRODUCTION_CLONE_0`` or ``PRODUCTION_CLONE_007`` is never taken for a pull request's clone.
_CLONE_NAME = re.compile(rf"{CLONE_PREFIX}([1-9][0-9]{{0,17}})")


class InvalidNameError(ValueError):
    """A PR id, database or schema name that must not reach SQL."""


def parse_pull_request_id(value: object) -> int:
    """A pull request id as Dagster+ and CI pass it: digits only, at least 1."""
    text = str(value).strip() if value is not None else ""
    if not _PULL_REQUEST_ID.fullmatch(text) or int(text) == 0:
        raise InvalidNameError(
            f"Invalid pull request id {value!r}: it must be a positive whole number such as 42 "
            "(Dagster+ sets DAGSTER_CLOUD_PULL_REQUEST_ID in branch deployments; CI passes the PR number)."
        )
    return int(text)


def clone_database_name(pull_request_id: object) -> str:
    """``PRODUCTION_CLONE_<PR>``, the database a branch deployment reads and writes."""
    return f"{CLONE_PREFIX}{parse_pull_request_id(pull_request_id)}"


def clone_pull_request_id(database: str) -> int | None:
    """The PR id of a clone's name, or ``None`` if ``database`` is not a clone's name."""
    match = _CLONE_NAME.fullmatch(database)
    return int(match.group(1)) if match else None


def validate_clone_name(database: str) -> str:
    """``database`` itself if it is exactly ``PRODUCTION_CLONE_<digits>``; refuses everything else."""
    if clone_pull_request_id(database) is None:
        raise InvalidNameError(
            f"Refusing database {database!r}: only clones named {CLONE_PREFIX}<pull request number> "
            "may be created or dropped by these jobs."
        )
    return database


def validate_identifier(name: str, what: str = "identifier") -> str:
    """An unquoted Snowflake identifier in upper case: letters, digits, ``_`` and ``$``."""
    if not _IDENTIFIER.fullmatch(name):
        raise InvalidNameError(
            f"Invalid {what} {name!r}: use an unquoted Snowflake identifier in upper case "
            "(A-Z, 0-9, _ or $, not starting with a digit), e.g. ANALYTICS or ALICE_DEV."
        )
    return name

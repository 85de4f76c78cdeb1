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
#: The table of the base schema that says which pull request and commit a clone was made for, and when.
CLONE_RECORD_TABLE = "CLONE_RECORD"

_IDENTIFIER = re.compile(r"[A-Z_][A-Z0-9_$]{0,254}")
_PULL_REQUEST_ID = re.compile(r"[0-9]{1,18}")
_COMMIT_SHA = re.compile(r"[0-9a-f]{7,64}")
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


def parse_commit_sha(value: object) -> str:
    """A Git commit hash as CI passes it: 7 to 64 hexadecimal digits (SHA-1 or SHA-256), in lower case."""
    text = str(value).strip().lower() if value is not None else ""
    if not _COMMIT_SHA.fullmatch(text):
        raise InvalidNameError(
            f"Invalid commit {value!r}: it must be a Git commit hash of 7 to 64 hexadecimal digits "
            "(CI passes the pull request's head commit, github.event.pull_request.head.sha or CI_COMMIT_SHA)."
        )
    return text


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

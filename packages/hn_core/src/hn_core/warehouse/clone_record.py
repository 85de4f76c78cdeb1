"""What a pull request's clone says about itself: the pull request and commit it was made for, and when.

``clone_prod`` writes one row into ``HACKER_NEWS_BASE.CLONE_RECORD`` of the clone (Snowflake and local DuckDB
alike), in the base schema, which stays production's and which the branch may read. The branch learns from it, with
no access to production's runs, which push its clone serves and how old its base is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hn_core.deployment.names import BASE_SCHEMA, CLONE_RECORD_TABLE
from hn_core.warehouse.query import WarehouseQuery, literal


@dataclass(frozen=True)
class CloneRecord:
    pull_request_id: int
    commit: str | None
    cloned_at: datetime


def read_clone_record(warehouse_query: WarehouseQuery) -> CloneRecord | None:
    """The clone's record, or ``None`` for a clone made before clones kept one (or no clone at all)."""
    found = warehouse_query.rows(
        "SELECT COUNT(*) FROM information_schema.tables "
        f"WHERE table_schema = {literal(BASE_SCHEMA)} AND table_name = {literal(CLONE_RECORD_TABLE)}"
    )
    if not found[0][0]:
        return None
    rows = warehouse_query.rows(
        f"SELECT PULL_REQUEST, COMMIT_SHA, CLONED_AT FROM {BASE_SCHEMA}.{CLONE_RECORD_TABLE} ORDER BY CLONED_AT DESC"
    )
    if not rows:
        return None
    pull_request_id, commit, cloned_at = rows[0]
    if cloned_at.tzinfo is None:  # DuckDB's TIMESTAMPTZ comes back aware; a naive value is UTC
        cloned_at = cloned_at.replace(tzinfo=UTC)
    return CloneRecord(int(pull_request_id), commit, cloned_at)

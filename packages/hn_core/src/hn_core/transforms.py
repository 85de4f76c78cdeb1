"""Pure transforms from API rows to the items, comments and stories frames (no I/O, no Dagster)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from hn_core.model import COLUMN_RENAMES, ITEM_FIELD_NAMES, ITEMS_DTYPES


def is_tombstone(row: Mapping[str, Any] | None) -> bool:
    """True for what the API returns in place of an item that no longer has content.

    Missing items come back as ``null`` and deleted ones as ``{"id": .., "deleted": true, ...}`` with no author or
    text: neither is data worth a row.
    """
    return row is None or bool(row.get("deleted"))


def items_frame(rows: Iterable[Mapping[str, Any] | None]) -> pd.DataFrame:
    """Build the items frame: exactly ``ITEMS_COLUMNS`` with ``ITEMS_DTYPES``, one row per id, sorted by id.

    Tombstones are dropped, fields outside ``ITEM_FIELD_NAMES`` are ignored and missing optional fields become
    ``NULL``. An id served twice keeps its first row.
    """
    records = [_record(row) for row in rows if not is_tombstone(row)]
    frame = pd.DataFrame.from_records(records, columns=list(ITEM_FIELD_NAMES)).rename(columns=COLUMN_RENAMES)
    frame = frame.astype(dict(ITEMS_DTYPES))
    frame = frame.drop_duplicates(subset="id", keep="first").sort_values("id", kind="stable")
    return frame.reset_index(drop=True)


def items_of_type(items: pd.DataFrame, item_type: str) -> pd.DataFrame:
    """The rows of ``items`` whose ``type`` is ``item_type``, re-indexed from zero, dtypes unchanged."""
    return items.loc[items["type"] == item_type].reset_index(drop=True)


def comments_frame(items: pd.DataFrame) -> pd.DataFrame:
    """Comments are the items of type ``comment``."""
    return items_of_type(items, "comment")


def stories_frame(items: pd.DataFrame) -> pd.DataFrame:
    """Stories are the items of type ``story`` (jobs and polls are not stories)."""
    return items_of_type(items, "story")


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    record = {name: row.get(name) for name in ITEM_FIELD_NAMES}
    if record["kids"] is not None:
        record["kids"] = json.dumps(list(record["kids"]), separators=(",", ":"))
    return record

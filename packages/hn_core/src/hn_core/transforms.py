"""Pure transforms from validated items to the items, comments and stories frames (no I/O, no Dagster)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from hn_core.model import COLUMN_RENAMES, ITEM_FIELD_NAMES, ITEMS_COLUMNS, ITEMS_DTYPES, HNItem


def items_frame(items: Iterable[HNItem]) -> pd.DataFrame:
    """Build the items frame: exactly ``ITEMS_COLUMNS`` with ``ITEMS_DTYPES``, one row per item, sorted by id.

    Deleted items (tombstones) are left out; they are counted in the asset's metadata. Nothing else is dropped:
    an id that appears twice stays twice, for ``items_have_unique_ids`` to report.
    """
    records = [_record(item) for item in items if not item.deleted]
    frame = pd.DataFrame.from_records(records, columns=list(ITEM_FIELD_NAMES)).rename(columns=COLUMN_RENAMES)
    return as_items_frame(frame.sort_values("id", kind="stable").reset_index(drop=True))


#: The item's ``time`` as a timestamp (UTC, without a zone): what an hourly partition of the history is cut by.
HISTORY_TIME_COLUMN = "created_at"


def history_frame(items: Iterable[HNItem]) -> pd.DataFrame:
    """``items_frame`` plus ``created_at``, the item's ``time`` as a UTC timestamp, for the hourly history.

    A stored timestamp compares with the ``'YYYY-MM-DD HH:MM:SS'`` bounds of Dagster's partition where-clauses the
    same way in DuckDB and Snowflake; an expression over the Unix seconds would depend on each dialect's functions
    and on the session's time zone. Items without a time cannot be placed in an hour: pass only timed items.
    """
    frame = items_frame(items)
    if frame["time"].isna().any():
        untimed = frame.loc[frame["time"].isna(), "id"].tolist()
        raise ValueError(f"Items {untimed} have no time, so no hour of the history can hold them.")
    created_at = pd.to_datetime(frame["time"].astype("int64"), unit="s").astype("datetime64[ns]")
    return frame.assign(**{HISTORY_TIME_COLUMN: created_at})


def as_items_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly ``ITEMS_COLUMNS`` in order and ``ITEMS_DTYPES``, e.g. after a warehouse read.

    Warehouses hand back their own dtypes (a nullable integer column with a NULL comes back ``float64``), so every
    frame is retyped before it is stored again: tables then never depend on how the last read typed a column.
    """
    return frame[list(ITEMS_COLUMNS)].astype(dict(ITEMS_DTYPES))


def items_of_type(items: pd.DataFrame, item_type: str) -> pd.DataFrame:
    """The rows of ``items`` whose ``type`` is ``item_type``, re-indexed from zero, typed like ``items_frame``."""
    return as_items_frame(items.loc[items["type"] == item_type].reset_index(drop=True))


def comments_frame(items: pd.DataFrame) -> pd.DataFrame:
    """Comments are the items of type ``comment``."""
    return items_of_type(items, "comment")


def stories_frame(items: pd.DataFrame) -> pd.DataFrame:
    """Stories are the items of type ``story`` (jobs and polls are not stories)."""
    return items_of_type(items, "story")


def _record(item: HNItem) -> dict[str, Any]:
    record = {name: getattr(item, name) for name in ITEM_FIELD_NAMES}
    if item.kids is not None:
        record["kids"] = json.dumps(item.kids, separators=(",", ":"))
    return record

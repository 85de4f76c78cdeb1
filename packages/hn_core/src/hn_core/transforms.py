"""Pure transforms from validated items to the items, comments and stories frames (no I/O, no Dagster)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from hn_core.id_window import HourWindow, window_of
from hn_core.model import COLUMN_RENAMES, ITEM_FIELD_NAMES, ITEMS_COLUMNS, ITEMS_DTYPES, HNItem

#: Seconds in an hour: the length of a history partition.
HOUR_SECONDS = 3600


def items_frame(items: Iterable[HNItem]) -> pd.DataFrame:
    """Build the items frame: exactly ``ITEMS_COLUMNS`` with ``ITEMS_DTYPES``, one row per item, sorted by id.

    Deleted items (tombstones) are left out; they are counted in the asset's metadata. Nothing else is dropped:
    an id that appears twice stays twice, for ``items_have_unique_ids`` to report.
    """
    records = [_record(item) for item in items if not item.deleted]
    frame = pd.DataFrame.from_records(records, columns=[*ITEM_FIELD_NAMES, "dead"]).rename(columns=COLUMN_RENAMES)
    return as_items_frame(frame.sort_values("id", kind="stable").reset_index(drop=True))


#: The item's ``time`` as a timestamp (UTC, without a zone); empty for an item served without a time.
HISTORY_TIME_COLUMN = "created_at"
#: The UTC hour whose id window holds the item: what an hourly partition of the history is cut by.
HISTORY_HOUR_COLUMN = "partition_hour"
#: True where the item's time does not place it in ``partition_hour``: out of id order, re-dated, or missing.
HISTORY_FLAG_COLUMN = "time_outside_hour"


def history_frame(items: Iterable[HNItem], windows: Sequence[HourWindow]) -> pd.DataFrame:
    """``items_frame`` of the live items in ``windows``, each under the hour whose window holds its id.

    An item belongs to the hour of its id, not of its time: adjacent hours share their edge, so every id is in
    exactly one hour, even where times are out of id order. Where the time says otherwise (``time_outside_hour``)
    the item is flagged, never moved or dropped. Timestamps are stored, not Unix seconds: a timestamp compares with
    the ``'YYYY-MM-DD HH:MM:SS'`` bounds of Dagster's partition where-clauses the same way in DuckDB and Snowflake.
    Raises ``ValueError`` for an item in no window, which a caller must never pass.
    """
    placed = []
    for item in items:
        window = window_of(windows, item.id)
        if window is None:
            raise ValueError(f"Item {item.id} is in none of the hours' windows, so no hour of the history can hold it.")
        placed.append((item, window.start))
    frame = items_frame(item for item, _ in placed)
    hours = {item.id: start for item, start in placed}
    hour_start = frame["id"].map(hours).astype("int64")
    time = frame["time"]
    outside = time.isna() | (time < hour_start) | (time >= hour_start + HOUR_SECONDS)
    return frame.assign(
        **{
            HISTORY_TIME_COLUMN: pd.to_datetime(time.astype("float64"), unit="s").astype("datetime64[ns]"),
            HISTORY_HOUR_COLUMN: pd.to_datetime(hour_start, unit="s").astype("datetime64[ns]"),
            HISTORY_FLAG_COLUMN: outside.astype("bool"),
        }
    )


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
    record = {name: getattr(item, name) for name in (*ITEM_FIELD_NAMES, "dead")}
    if item.kids is not None:
        record["kids"] = json.dumps(item.kids, separators=(",", ":"))
    return record

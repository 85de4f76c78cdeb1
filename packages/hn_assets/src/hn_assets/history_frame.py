"""The history's pure transform: items placed in the hour whose id window holds them (no I/O, no Dagster)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from hn_assets.id_window import HourWindow, window_of
from hn_core.hn_api.model import HNItem
from hn_core.transforms import items_frame

#: Seconds in an hour: the length of a history partition.
HOUR_SECONDS = 3600


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

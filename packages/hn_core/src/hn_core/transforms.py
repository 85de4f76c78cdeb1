"""Pure transforms from validated items to the items, comments and stories frames (no I/O, no Dagster)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from hn_core.hn_api.model import COLUMN_RENAMES, ITEM_FIELD_NAMES, ITEMS_COLUMNS, ITEMS_DTYPES, HNItem


def items_frame(items: Iterable[HNItem]) -> pd.DataFrame:
    """Build the items frame: exactly ``ITEMS_COLUMNS`` with ``ITEMS_DTYPES``, one row per item, sorted by id.

    Deleted items (tombstones) are left out; they are counted in the asset's metadata. Nothing else is dropped:
    an id that appears twice stays twice, for ``items_have_unique_ids`` to report.
    """
    records = [_record(item) for item in items if not item.deleted]
    frame = pd.DataFrame.from_records(records, columns=[*ITEM_FIELD_NAMES, "dead"]).rename(columns=COLUMN_RENAMES)
    return as_items_frame(frame.sort_values("id", kind="stable").reset_index(drop=True))


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

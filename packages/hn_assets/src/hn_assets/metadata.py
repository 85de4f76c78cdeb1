"""Metadata shown in the Dagster UI: each table's column schema, and each materialization's counts and preview."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from hn_core.model import ITEMS_COLUMN_DESCRIPTIONS, ITEMS_DTYPES

PREVIEW_ROWS = 10
LISTED_IDS = 50
#: Characters of a text cell shown in a preview: its cost must not grow with the text (an item may hold megabytes).
PREVIEW_CELL_CHARACTERS = 80

#: The columns of ITEMS, COMMENTS and STORIES, with their types and what they hold: the asset's one schema.
ITEMS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn(name, dtype, description=ITEMS_COLUMN_DESCRIPTIONS[name]) for name, dtype in ITEMS_DTYPES.items()
    ]
)


def frame_metadata(frame: pd.DataFrame, preview_columns: Sequence[str]) -> dict[str, Any]:
    """What one materialization reports: its row count, id range, and a preview of the columns that matter."""
    ids = frame["id"]
    return {
        "dagster/row_count": len(frame),
        "min_id": int(ids.min()) if len(ids) else None,
        "max_id": int(ids.max()) if len(ids) else None,
        "dead_count": int(frame["dead"].sum()),
        "preview": dg.MetadataValue.md(preview_table(frame, preview_columns)),
    }


def preview_table(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """The first rows of ``columns`` as a markdown table: times readable, NULL empty, text cut to a fixed length.

    The table stores ``time`` as Unix seconds; the preview shows it in UTC. Its cost does not grow with the text.
    """
    head = frame.loc[:, list(columns)].head(PREVIEW_ROWS)
    if "time" in head:
        head = head.assign(time=pd.to_datetime(head["time"], unit="s", utc=True).dt.strftime("%Y-%m-%d %H:%M"))
        head = head.rename(columns={"time": "time (UTC)"})

    def cell(value: Any) -> Any:
        if isinstance(value, str) and len(value) > PREVIEW_CELL_CHARACTERS:
            return value[: PREVIEW_CELL_CHARACTERS - 1] + "…"
        return value

    cells = head.astype(object).where(head.notna(), None).map(cell)
    return cells.to_markdown(index=False, maxcolwidths=40)


def id_list(ids: Iterable[int]) -> str:
    """Ids as text for metadata, the first ``LISTED_IDS`` of them, saying how many more there are."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:LISTED_IDS])
    return f"{shown} (+{len(ids) - LISTED_IDS} more)" if len(ids) > LISTED_IDS else shown

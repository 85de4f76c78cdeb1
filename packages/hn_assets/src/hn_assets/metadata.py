"""Output metadata shared by the assets: row count, id range, column schema and a markdown preview."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dagster as dg
import pandas as pd

PREVIEW_ROWS = 10
LISTED_IDS = 50
#: Characters of a text cell shown in a preview: its cost must not grow with the text (an item may hold megabytes).
PREVIEW_CELL_CHARACTERS = 80


def frame_metadata(frame: pd.DataFrame) -> dict[str, Any]:
    """Metadata every table asset reports, under Dagster's standard keys where they exist."""
    ids = frame["id"]
    preview = preview_cells(frame.head(PREVIEW_ROWS))
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.dtypes.items()]
        ),
        "min_id": int(ids.min()) if len(ids) else None,
        "max_id": int(ids.max()) if len(ids) else None,
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False, maxcolwidths=40)),
    }


def preview_cells(head: pd.DataFrame) -> pd.DataFrame:
    """``head`` as plain Python values for a markdown table: NULL as empty, text cut to a fixed length."""

    def cell(value: Any) -> Any:
        if isinstance(value, str) and len(value) > PREVIEW_CELL_CHARACTERS:
            return value[: PREVIEW_CELL_CHARACTERS - 1] + "…"
        return value

    return head.astype(object).where(head.notna(), None).map(cell)


def id_list(ids: Iterable[int]) -> str:
    """Ids as text for metadata, the first ``LISTED_IDS`` of them, saying how many more there are."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:LISTED_IDS])
    return f"{shown} (+{len(ids) - LISTED_IDS} more)" if len(ids) > LISTED_IDS else shown

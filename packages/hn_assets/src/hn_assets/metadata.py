"""Metadata shown in the Dagster UI: each table's column schema, and each materialization's counts and preview.

Every key is snake_case and names one fact. Counts are always reported (``0`` included), so the UI can plot them;
the ids behind a count are listed only when there are some, so no cell is ever blank.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from hn_core.deployment.environment import resolve_target
from hn_core.hn_api.client import HNClient
from hn_core.hn_api.model import ITEMS_COLUMN_DESCRIPTIONS, ITEMS_DTYPES

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


def environment_metadata() -> dict[str, str]:
    """Where the run materializes: ``environment`` is ``local``, ``staging``, ``production`` or, in a branch
    deployment, ``branch (pull request 42)``, resolved from the process's variables as the location's resources were
    (``hn_core.deployment.environment``)."""
    target = resolve_target(os.environ)
    name = target.environment.value
    if target.pull_request_id is not None:
        name += f" (pull request {target.pull_request_id})"
    return {"environment": name}


def source_metadata(hn_client: HNClient) -> dict[str, str]:
    """The environment, and ``hn_api_url``: the base URL of the HN API the client fetched from, as resolved for
    this run (``HN_API_BASE_URL``, or the public API). An in-memory client has no URL to report."""
    url = getattr(hn_client, "base_url", None)
    return {**environment_metadata(), **({"hn_api_url": url} if url else {})}


def id_range(first_id: int, last_id: int) -> dict[str, int]:
    """The ids a materialization covers, both included."""
    return {"first_id": first_id, "last_id": last_id}


def rows_metadata(frame: pd.DataFrame, preview_columns: Sequence[str]) -> dict[str, Any]:
    """What the rows show beyond their count: items flagged dead, and a preview of the newest."""
    return {
        "dead_count": int(frame["dead"].sum()),
        "preview": dg.MetadataValue.md(preview_table(frame, preview_columns)),
    }


def frame_metadata(frame: pd.DataFrame, preview_columns: Sequence[str]) -> dict[str, Any]:
    """What a table derived from ``items`` reports: the environment, its row count, the lowest and highest id
    stored (none for no rows), items flagged dead, and a preview of the newest rows."""
    ids = frame["id"]
    return {
        **environment_metadata(),
        "dagster/row_count": len(frame),
        **(id_range(int(ids.min()), int(ids.max())) if len(ids) else {}),
        **rows_metadata(frame, preview_columns),
    }


def newest_rows(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    """The ``count`` rows with the highest ids, highest first (the ids HN gives newer items)."""
    order = frame["id"].reset_index(drop=True).sort_values(ascending=False, kind="stable").index[:count]
    return frame.iloc[order]


def preview_table(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """The newest rows of ``columns`` as a markdown table: times readable, NULL empty, text cut to a fixed length.

    The table stores ``time`` as Unix seconds; the preview shows it in UTC. Its cost does not grow with the text.
    """
    head = newest_rows(frame, PREVIEW_ROWS).loc[:, list(columns)]
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


def counted_ids(kind: str, ids: Iterable[int]) -> dict[str, Any]:
    """``<kind>_count``, and ``<kind>_ids`` listing them (``id_list``) when there are any."""
    ids = list(ids)
    return {f"{kind}_count": len(ids), **({f"{kind}_ids": id_list(ids)} if ids else {})}


def without_empty(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` without the entries that would show as blank cells: empty text, lists or mappings, ``None``.
    Counts stay, ``0`` included."""
    return {key: value for key, value in metadata.items() if not (value is None or (_sized(value) and not value))}


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple | dict | set)

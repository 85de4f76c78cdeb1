"""The hourly history of Hacker News items: ``item_history``, one partition per hour, and the ledger of its windows.

Beside the guide's ``items`` (the N most recent items, replaced whole on every run), the history keeps every item in
the hour its id belongs to. An hour's ids are the window ``[edge(start), edge(end))`` of ``hn_assets.id_window``: an
edge is taken from the stored neighbour hour, or placed by a fixed rule inside the ids stored hours leave free, so
adjacent hours share it and every id is in exactly one hour, whatever order the items' times are in. An item whose
time is outside its id's hour (same-second ids in either order, a story the site re-dated hours later) is stored in
that hour all the same, flagged in ``time_outside_hour``.

A run materializes any range of hours (one for the schedule, many for a backfill: ``BackfillPolicy.single_run``): it
places every edge of the range in one search, fetches all the range's ids in one concurrent batch, and replaces those
hours of ``ITEM_HISTORY`` and of the ledger ``ITEM_HISTORY_WINDOWS`` (one row per hour: its window, its counts, the
ids it holds no row for) in one transaction, through the warehouse I/O manager: every hour of the range, or none.

A run refuses, before anything is written, a range the API has not finished (no item yet at or after its end), an
edge the rule cannot place (an id it must look at failed to fetch), and a fetch with more failed or ``null`` ids
than allowed. Fetching runs in the pool ``hn_api``: with run-granularity pools its limit is the number of runs
fetching at once.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from hn_assets.assets import (
    DEFAULT_MISSING_GRACE_COUNT,
    ITEMS_PREVIEW,
    ProgressLog,
    fetch_metadata,
    fetch_problems,
    versioned_asset,
)
from hn_assets.history_frame import (
    HISTORY_FLAG_COLUMN,
    HISTORY_HOUR_COLUMN,
    HISTORY_TIME_COLUMN,
    HOUR_SECONDS,
    history_frame,
)
from hn_assets.history_partitions import HOURLY
from hn_assets.id_window import (
    DEFAULT_MAX_UNTIMED_SCAN,
    Edges,
    HourWindow,
    IdWindowError,
    ProbeOutcome,
    find_edges,
    hour_windows,
)
from hn_assets.metadata import ITEMS_SCHEMA, id_range, rows_metadata, source_metadata
from hn_core.hn_api import HNClient
from hn_core.hn_api.client import FetchResult
from hn_core.warehouse.ledger import TableWithLedger
from hn_core.warehouse.query import WarehouseQuery

HISTORY_GROUP = "hacker_news_history"
#: Every run that fetches from the HN API for the history holds a slot of this pool (see the module docstring).
HN_API_POOL = "hn_api"
#: How Dagster's partition where-clauses write their bounds, and how queries here write an hour.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
HISTORY_TABLE = "item_history"
#: The ledger beside ITEM_HISTORY: one row per stored hour, written in the same transaction as the hour's rows.
WINDOWS_TABLE = "item_history_windows"
#: Hours listed one by one in a run's metadata; a longer range shows its first ones and says how many more.
LISTED_HOURS = 48
#: The columns of ITEMS, then where the item's id and time put it.
HISTORY_SCHEMA = dg.TableSchema(
    columns=[
        *ITEMS_SCHEMA.columns,
        dg.TableColumn(
            HISTORY_TIME_COLUMN,
            "datetime64[ns]",
            description="`time` as a timestamp in UTC; empty for an item the API serves without a time.",
        ),
        dg.TableColumn(
            HISTORY_HOUR_COLUMN,
            "datetime64[ns]",
            description=(
                "The UTC hour whose id window holds the item: the partition. Adjacent hours share their edge, so "
                "every id is in exactly one hour."
            ),
        ),
        dg.TableColumn(
            HISTORY_FLAG_COLUMN,
            "bool",
            description=(
                "True where `created_at` is outside `partition_hour` (ids out of time order, a story re-dated by "
                "the site) or missing: the item is stored in its id's hour all the same."
            ),
        ),
    ]
)
#: The ledger's columns, in table order, with their dtypes.
WINDOWS_DTYPES = {
    HISTORY_HOUR_COLUMN: "datetime64[ns]",
    "first_id": "int64",
    "end_id": "int64",
    "max_item_id": "int64",
    "stored_count": "int64",
    "time_outside_hour_count": "int64",
    "dead_count": "int64",
    "deleted_ids": "string",
    "null_ids": "string",
    "failed_ids": "string",
}
#: Why an id of an hour's window has no row: the ledger lists each kind in full, as a JSON array.
UNSTORED_KINDS = ("deleted_ids", "null_ids", "failed_ids")


class HistoryConfig(dg.Config):
    """What a run tolerates before it fails without writing."""

    max_failed_items: int = Field(
        default=0,
        ge=0,
        description="Ids of the range that may fail (after retries) before the run fails without writing.",
    )
    max_missing_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description=(
            "Share of the range's ids the API may answer with null before the run fails without writing, once more "
            "than `missing_grace_count` are null."
        ),
    )
    missing_grace_count: int = Field(
        default=DEFAULT_MISSING_GRACE_COUNT,
        ge=0,
        description="Null answers always allowed, whatever their share: ids that were never created are null forever.",
    )
    max_untimed_scan: int = Field(
        default=DEFAULT_MAX_UNTIMED_SCAN,
        ge=1,
        description="Ids without a time passed over in a row, from one probe of the edge search, before it gives up.",
    )


def utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def sql_hour(seconds: int) -> str:
    """An hour as the SQL timestamp literal both warehouses compare ``partition_hour`` with."""
    return "'" + datetime.fromtimestamp(seconds, UTC).strftime(TIMESTAMP_FORMAT) + "'"


def unix_bounds(window: dg.TimeWindow) -> tuple[int, int]:
    """A time window as Unix seconds, ``[start, end)``."""
    return int(window.start.timestamp()), int(window.end.timestamp())


@versioned_asset(
    name=HISTORY_TABLE,
    partitions_def=HOURLY,
    metadata={"partition_expr": HISTORY_HOUR_COLUMN, "dagster/column_schema": HISTORY_SCHEMA},
    group_name=HISTORY_GROUP,
    io_manager_key="warehouse_io_manager",
    pool=HN_API_POOL,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"pandas"},
    owners=["team:data-platform"],
    tags={"domain": "hacker_news", "source": "hn_api"},
    description=(
        "Every Hacker News item, in the hour its id belongs to: one partition per hour (UTC). Adjacent hours share "
        "their edge, so every id is in exactly one hour; an item whose time is outside its hour is flagged "
        "(`time_outside_hour`), never dropped. A backfill runs its whole range in one run, fetched in one batch. "
        "Each hour's window is recorded in `item_history_windows`, written in the same transaction."
    ),
)
def item_history(
    context: dg.AssetExecutionContext,
    config: HistoryConfig,
    hn_client: dg.ResourceParam[HNClient],
    warehouse_query: dg.ResourceParam[WarehouseQuery],
) -> TableWithLedger:
    start, end = unix_bounds(context.partition_time_window)
    starts = list(range(start, end, HOUR_SECONDS))
    stored = stored_neighbours(warehouse_query, start, end)
    try:
        edges = find_edges(
            hn_client, [i for i in [*starts, end] if i not in stored.edges], max_untimed_scan=config.max_untimed_scan
        )
        if not edges.is_past(end):
            raise_unfinished(edges, end)
        windows = hour_windows(
            starts, HOUR_SECONDS, {**edges.ids, **stored.edges}, floor=stored.floor, ceiling=stored.ceiling
        )
    except IdWindowError as error:
        raise dg.Failure(description=f"Nothing was written: {error}") from error
    ids = range(windows[0].first_id, windows[-1].end_id)
    context.log.info(
        f"{len(windows)} hour(s) from {utc(start)} hold ids {ids.start:,}..{ids.stop - 1:,} ({len(ids):,} ids; "
        f"{len(stored.edges)} edge(s) taken from stored neighbours, {len(edges.ids)} placed looking at "
        f"{len(edges.probes)} ids)"
    )
    result = hn_client.fetch_items(ids, progress=ProgressLog(context.log))
    source = source_metadata(hn_client)
    problems = fetch_problems(result, config.max_failed_items, config.max_missing_share, config.missing_grace_count)
    if problems:
        raise dg.Failure(
            description="Nothing was written, the hours keep their last good rows: " + "; ".join(problems),
            metadata={**source, **edges_metadata(edges, stored.edges), **fetch_metadata(result)},
        )
    frame = history_frame((item for item in result.rows if not item.deleted), windows)
    ledger = windows_frame(windows, frame, result, edges.max_item_id)
    # The rows written are counted by the I/O manager (dagster/partition_row_count): they are the hours', not the
    # table's, so no dagster/row_count here.
    context.add_output_metadata(
        {
            **source,
            **id_range(ids.start, ids.stop - 1),
            "id_count": len(ids),
            "time_outside_hour_count": int(frame[HISTORY_FLAG_COLUMN].sum()),
            **rows_metadata(frame, ITEMS_PREVIEW),
            "hours": dg.MetadataValue.md(hours_table(ledger)),
            **edges_metadata(edges, stored.edges),
            **fetch_metadata(result),
        }
    )
    return TableWithLedger(frame, ledger, WINDOWS_TABLE)


@dataclass(frozen=True)
class StoredNeighbours:
    """What the stored hours around a range fix: the edges they share with it, and the ids they already hold.

    ``edges`` has the range's first edge if the hour just before is stored (its ``end_id``) and its last edge if the
    hour just after is (its ``first_id``). ``floor`` and ``ceiling`` bound every edge of the range by the nearest
    stored hours on either side, adjacent or not, so that no id of theirs can be written into the range again.
    """

    edges: dict[int, int]
    floor: int = 1
    ceiling: int | None = None


def stored_neighbours(warehouse_query: WarehouseQuery, start: int, end: int) -> StoredNeighbours:
    """The nearest stored hours before ``start`` and from ``end`` on, read from the ledger (if written yet).

    Taking their recorded edges rather than placing them again keeps stored hours and this range contiguous, whatever
    the API serves now.
    """
    if not warehouse_query.has_table(WINDOWS_TABLE):
        return StoredNeighbours({})
    q = warehouse_query
    hour, first_id, end_id, ledger = (
        q.column(HISTORY_HOUR_COLUMN),
        q.column("first_id"),
        q.column("end_id"),
        q.table(WINDOWS_TABLE),
    )
    before = q.rows(
        f"SELECT {hour}, {end_id} FROM {ledger} WHERE {hour} < {sql_hour(start)} ORDER BY {hour} DESC LIMIT 1"
    )
    after = q.rows(f"SELECT {hour}, {first_id} FROM {ledger} WHERE {hour} >= {sql_hour(end)} ORDER BY {hour} LIMIT 1")
    neighbours = StoredNeighbours({})
    if before:
        moment, edge = before[0]
        neighbours = replace(neighbours, floor=int(edge))
        if unix_hour(moment) == start - HOUR_SECONDS:
            neighbours.edges[start] = int(edge)
    if after:
        moment, edge = after[0]
        neighbours = replace(neighbours, ceiling=int(edge))
        if unix_hour(moment) == end:
            neighbours.edges[end] = int(edge)
    return neighbours


def unix_hour(moment: datetime) -> int:
    """A ``partition_hour`` as the warehouse returns it (a UTC timestamp without a zone) in Unix seconds."""
    if moment.tzinfo is not None:
        raise TypeError(f"partition_hour came back with a time zone ({moment}); it is stored as UTC without one.")
    return int(moment.replace(tzinfo=UTC).timestamp())


def raise_unfinished(edges: Edges, end: int) -> None:
    newest = "has no item" if edges.newest_time is None else f"has nothing newer than {utc(edges.newest_time)}"
    raise dg.Failure(
        description=(
            f"Nothing was written: the hours up to {utc(end)} are not over in the HN API yet. The API {newest} (ids "
            f"up to {edges.max_item_id}), so more items may still come; run these hours once the API has passed them."
        ),
        metadata={"max_item_id": edges.max_item_id, "probe_count": len(edges.probes)},
    )


def windows_frame(
    windows: Sequence[HourWindow], frame: pd.DataFrame, result: FetchResult, max_item_id: int
) -> pd.DataFrame:
    """The ledger rows of ``windows``: each hour's window, what it stores, and every id it holds no row for."""
    hours = frame[HISTORY_HOUR_COLUMN]
    rows = []
    for window in windows:
        in_hour = hours == pd.Timestamp(window.start, unit="s")

        def unstored(ids: Sequence[int] | Mapping[int, str], window: HourWindow = window) -> str:
            return json.dumps(sorted(i for i in ids if window.first_id <= i < window.end_id))

        rows.append(
            {
                HISTORY_HOUR_COLUMN: pd.Timestamp(window.start, unit="s"),
                "first_id": window.first_id,
                "end_id": window.end_id,
                "max_item_id": max_item_id,
                "stored_count": int(in_hour.sum()),
                "time_outside_hour_count": int(frame.loc[in_hour, HISTORY_FLAG_COLUMN].sum()),
                "dead_count": int(frame.loc[in_hour, "dead"].sum()),
                "deleted_ids": unstored(result.deleted_ids),
                "null_ids": unstored(result.missing_ids),
                "failed_ids": unstored(result.failed),
            }
        )
    return pd.DataFrame(rows, columns=list(WINDOWS_DTYPES)).astype(WINDOWS_DTYPES)


#: The hours table's count of each kind of ``UNSTORED_KINDS``, named as the materialization's own counts.
UNSTORED_COUNTS = {"deleted_ids": "deleted_count", "null_ids": "missing_count", "failed_ids": "failed_count"}


def hours_table(ledger: pd.DataFrame) -> str:
    """The run's hours as a Markdown table, latest first: window, rows stored, items flagged, ids without a row."""
    latest = ledger.iloc[::-1].head(LISTED_HOURS)
    shown = latest.assign(
        hour=latest[HISTORY_HOUR_COLUMN].dt.strftime("%Y-%m-%d %H:00"),
        id_count=latest["end_id"] - latest["first_id"],
        **{count: latest[kind].map(lambda ids: len(json.loads(ids))) for kind, count in UNSTORED_COUNTS.items()},
    )
    columns = ["hour", "first_id", "end_id", "id_count", "stored_count", "time_outside_hour_count", "dead_count"]
    table = shown[[*columns, *UNSTORED_COUNTS.values()]].to_markdown(index=False)
    more = len(ledger) - LISTED_HOURS
    return table + (f"\n\n(+{more} earlier hours: see ITEM_HISTORY_WINDOWS)" if more > 0 else "")


def edges_metadata(edges: Edges, stored: Mapping[int, int]) -> dict[str, Any]:
    """How the range's edges were found: taken from stored neighbours, or placed by the rule with so many probes."""
    return {
        "edges_from_stored_neighbours": len(stored),
        "edges_placed": len(edges.ids),
        "max_item_id": edges.max_item_id,
        "probe_count": len(edges.probes),
        **{
            f"probes_{outcome.value}": len(edges.probes_with(outcome))
            for outcome in (ProbeOutcome.NULL, ProbeOutcome.UNTIMED, ProbeOutcome.INVALID, ProbeOutcome.FAILED)
        },
    }

"""The hourly history of Hacker News items: ``item_history``, one partition per hour, and its checks.

Beside the guide's ``items`` (the N most recent items, replaced whole on every run), the history keeps every item
in the hour it was created: a run finds the hour's ids with ``hn_core.id_window`` (a search over item times, exact
at the hour's edges), fetches exactly those ids, and replaces exactly that hour of ``ITEM_HISTORY``, atomically,
through the warehouse I/O manager (``partition_expr`` is ``created_at``, the item's time as a UTC timestamp).

A run refuses, before anything is written, an hour the API has not finished (no item yet at or after its end), an
id window it cannot trust (ids out of time order, a failed id next to an edge), and a fetch with more failed or
``null`` ids than allowed. Each hour is checked where it is stored: every id of its window stored or reported by
id, every time inside the hour, no id stored under two hours.

Fetching runs in the pool ``hn_api``: with the repository's run-granularity pools, its limit is the number of runs
fetching at once, so a backfill of any number of hours keeps the API's load at most limit x ``HNAPIClient``
concurrency requests in flight.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from hn_assets.assets import ITEMS_PREVIEW, ProgressLog, fetch_metadata, fetch_problems
from hn_assets.metadata import ITEMS_SCHEMA, frame_metadata, id_list
from hn_core import HNClient
from hn_core.client import FetchResult
from hn_core.environment import Target
from hn_core.id_window import (
    DEFAULT_MAX_FAILED_PROBES,
    DEFAULT_MAX_UNTIMED_SCAN,
    IdWindow,
    IdWindowError,
    ProbeOutcome,
    check_window_items,
    find_id_window,
)
from hn_core.transforms import HISTORY_TIME_COLUMN, history_frame
from hn_core.warehouse_query import WarehouseQuery, build_warehouse_query

HISTORY_GROUP = "hacker_news_history"
#: Every run that fetches from the HN API for the history holds a slot of this pool (see the module docstring).
HN_API_POOL = "hn_api"
#: Hour of the first HN item (id 1, 2006-10-09 18:21:51 UTC): the history can go back to the very beginning.
HOURLY = dg.HourlyPartitionsDefinition(start_date="2006-10-09-18:00", timezone="UTC")
#: Where Dagster's partition where-clauses put the bounds they write as ``YYYY-MM-DD HH:MM:SS``.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
HISTORY_TABLE = "item_history"
#: The columns of ITEMS, then the one each hour is cut by.
HISTORY_SCHEMA = dg.TableSchema(
    columns=[
        *ITEMS_SCHEMA.columns,
        dg.TableColumn(
            HISTORY_TIME_COLUMN,
            "datetime64[ns]",
            description="`time` as a timestamp in UTC: the item belongs to the hour of this column's partition.",
        ),
    ]
)
#: Why an id of an hour's window has no row: the kinds ``ids_not_stored`` lists, in full.
UNSTORED_KINDS = ("deleted", "untimed", "null", "failed")


class HistoryConfig(dg.Config):
    """What an hour's run tolerates before it fails without writing."""

    max_failed_items: int = Field(
        default=0,
        ge=0,
        description="Ids of the hour that may fail (after retries) before the run fails without writing.",
    )
    max_missing_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Share of the hour's ids the API may answer with null before the run fails without writing.",
    )
    max_failed_probes: int = Field(
        default=DEFAULT_MAX_FAILED_PROBES,
        ge=0,
        description="Ids probed while searching for the hour's ids that may fail before the run fails.",
    )
    max_untimed_scan: int = Field(
        default=DEFAULT_MAX_UNTIMED_SCAN,
        ge=1,
        description="Ids without a time (null or failed) looked at in a row before the search gives up there.",
    )


def utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def unix_bounds(window: dg.TimeWindow) -> tuple[int, int]:
    """A partition's time window as Unix seconds, ``[start, end)``."""
    return int(window.start.timestamp()), int(window.end.timestamp())


@dg.asset(
    name=HISTORY_TABLE,
    partitions_def=HOURLY,
    metadata={"partition_expr": HISTORY_TIME_COLUMN, "dagster/column_schema": HISTORY_SCHEMA},
    group_name=HISTORY_GROUP,
    io_manager_key="warehouse_io_manager",
    pool=HN_API_POOL,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    kinds={"pandas"},
    owners=["team:data-platform"],
    tags={"domain": "hacker_news", "source": "hn_api"},
    description=(
        "Every Hacker News item, in the hour it was created: one partition per hour (UTC). A run finds the hour's "
        "id range by a search over item times and replaces only that hour."
    ),
)
def item_history(
    context: dg.AssetExecutionContext, config: HistoryConfig, hn_client: dg.ResourceParam[HNClient]
) -> pd.DataFrame:
    start, end = unix_bounds(HOURLY.time_window_for_partition_key(context.partition_key))  # one hour per run
    try:
        window = find_id_window(
            hn_client,
            start,
            end,
            max_failed_probes=config.max_failed_probes,
            max_untimed_scan=config.max_untimed_scan,
        )
    except IdWindowError as error:
        raise dg.Failure(description=f"Nothing was written: {error}") from error
    if not window.complete:
        newest = "has no item" if window.newest_time is None else f"has nothing newer than {utc(window.newest_time)}"
        raise dg.Failure(
            description=(
                f"Nothing was written: hour {context.partition_key} is not over in the HN API yet. The API {newest} "
                f"(ids up to {window.max_item_id}), and the hour ends at {utc(end)}, so more items may still come; "
                "run this hour once the API has passed it."
            ),
            metadata=window_metadata(window),
        )
    context.log.info(
        f"Hour {context.partition_key} holds ids {window.first_id:,}..{window.end_id - 1:,} "
        f"({len(window.ids):,} ids, found with {len(window.probes)} probes)"
    )
    result = hn_client.fetch_items(window.ids, progress=ProgressLog(context.log))
    try:
        check_window_items(window, result.rows)
    except IdWindowError as error:
        raise dg.Failure(description=str(error), metadata=window_metadata(window)) from error
    refuse_untrusted_hour(result, config, window)
    frame = history_frame(item for item in result.rows if not item.deleted and item.time is not None)
    context.add_output_metadata(
        {
            **frame_metadata(frame, ITEMS_PREVIEW),
            **window_metadata(window),
            **fetch_metadata(result),
            **unstored_metadata(result),
        }
    )
    return frame


def refuse_untrusted_hour(result: FetchResult, config: HistoryConfig, window: IdWindow) -> None:
    """Fail before writing when too many of the hour's ids failed or were ``null``, naming counts and ids.

    An hour with no ids at all is fine (HN was quiet, or down): it is stored empty, replacing whatever it held.
    """
    problems = fetch_problems(result, config.max_failed_items, config.max_missing_share)
    if problems:
        raise dg.Failure(
            description="Nothing was written, the hour keeps its last good rows: " + "; ".join(problems),
            metadata={**window_metadata(window), **fetch_metadata(result)},
        )


def window_metadata(window: IdWindow) -> dict[str, Any]:
    """Where the hour's ids are and what finding them cost: the id range, and every probe by outcome."""
    probes = window.probes
    return {
        "first_id": window.first_id,
        "last_id": window.end_id - 1,
        "id_count": len(window.ids),
        "max_item_id": window.max_item_id,
        "probe_count": len(probes),
        "probed_ids": id_list(probe.item_id for probe in probes),
        **{
            f"probes_{outcome.value}": len(window.probes_with(outcome))
            for outcome in (ProbeOutcome.NULL, ProbeOutcome.UNTIMED, ProbeOutcome.FAILED)
        },
    }


def unstored_metadata(result: FetchResult) -> dict[str, Any]:
    """Every id of the window without a row, by reason, in full: what ``item_history_stores_its_id_window`` reads.

    Deleted items are tombstones; an item without a time (the API documents one for every item) has no hour to go in.
    """
    untimed = [item.id for item in result.rows if item.time is None and not item.deleted]
    return {
        "untimed_count": len(untimed),
        "ids_not_stored": dg.MetadataValue.json(
            {
                "deleted": result.deleted_ids,
                "untimed": untimed,
                "null": result.missing_ids,
                "failed": sorted(result.failed),
            }
        ),
    }


# -- checks: each reads the stored table with SQL, so that it sees what is stored, not what a run meant to store --


def hourly_check(description: str) -> Any:
    """``@dg.asset_check`` on one hour of ``item_history``: the check runs after each hour, for that hour."""
    return dg.asset_check(asset=item_history, partitions_def=HOURLY, description=description)


def hour_bounds(context: dg.AssetCheckExecutionContext) -> tuple[datetime, datetime]:
    window = HOURLY.time_window_for_partition_key(context.op_execution_context.partition_key)
    return window.start, window.end


def in_hour(warehouse: WarehouseQuery, start: datetime, end: datetime) -> str:
    """The condition Dagster's partition where-clause uses for this hour: ``created_at`` in ``[start, end)``."""
    column = warehouse.column(HISTORY_TIME_COLUMN)
    return f"{column} >= '{start.strftime(TIMESTAMP_FORMAT)}' AND {column} < '{end.strftime(TIMESTAMP_FORMAT)}'"


def latest_materialization_metadata(context: dg.AssetCheckExecutionContext) -> Mapping[str, Any] | None:
    partition = context.op_execution_context.partition_key
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=item_history.key, asset_partitions=[partition]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    return {key: value.value for key, value in records[0].asset_materialization.metadata.items()}


@hourly_check("Every id of the hour's window is stored once, or reported by id as deleted, untimed, null or failed.")
def item_history_stores_its_id_window(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    recorded = latest_materialization_metadata(context)
    if recorded is None:
        return dg.AssetCheckResult(passed=False, metadata={"problem": "no materialization of this hour is recorded"})
    start, end = hour_bounds(context)
    stored = [
        row[0]
        for row in warehouse_query.rows(
            f"SELECT {warehouse_query.column('id')} FROM {warehouse_query.table(HISTORY_TABLE)} "
            f"WHERE {in_hour(warehouse_query, start, end)}"
        )
    ]
    window = set(range(recorded["first_id"], recorded["last_id"] + 1))
    reported = {item_id for kind in UNSTORED_KINDS for item_id in recorded["ids_not_stored"][kind]}
    unaccounted = sorted(window - set(stored) - reported)
    outside = sorted(set(stored) - window)
    stored_and_reported = sorted(set(stored) & reported)
    return dg.AssetCheckResult(
        passed=not unaccounted and not outside and not stored_and_reported,
        metadata={
            "first_id": recorded["first_id"],
            "last_id": recorded["last_id"],
            "stored": len(stored),
            "reported_not_stored": len(reported),
            "unaccounted_ids": id_list(unaccounted),
            "ids_outside_window": id_list(outside),
            "ids_stored_and_reported": id_list(stored_and_reported),
        },
    )


@hourly_check("Every item stored under the hour was created inside it: its time is in [start, end).")
def item_history_times_are_inside_the_hour(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    start, end = hour_bounds(context)
    first, after = int(start.timestamp()), int(end.timestamp())
    time = warehouse_query.column("time")
    outside = warehouse_query.rows(
        f"SELECT {warehouse_query.column('id')}, {time} FROM {warehouse_query.table(HISTORY_TABLE)} "
        f"WHERE {in_hour(warehouse_query, start, end)} AND ({time} IS NULL OR {time} < {first} OR {time} >= {after})"
    )
    return dg.AssetCheckResult(
        passed=not outside,
        metadata={
            "hour_start": first,
            "hour_end": after,
            "rows_outside_count": len(outside),
            "rows_outside": ", ".join(f"{item_id} (time {moment})" for item_id, moment in outside[:20]),
        },
    )


@hourly_check("No id stored under this hour is stored again, under this hour or any other.")
def item_history_ids_are_in_one_hour(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    start, end = hour_bounds(context)
    table, item_id = warehouse_query.table(HISTORY_TABLE), warehouse_query.column("id")
    created_at = warehouse_query.column(HISTORY_TIME_COLUMN)
    copies = warehouse_query.rows(
        f"SELECT {item_id}, {created_at} FROM {table} "
        f"WHERE {item_id} IN (SELECT {item_id} FROM {table} WHERE {in_hour(warehouse_query, start, end)})"
    )
    hours_by_id: dict[int, list[datetime]] = {}
    for row_id, moment in copies:
        hours_by_id.setdefault(row_id, []).append(moment)
    repeated = {row_id: moments for row_id, moments in hours_by_id.items() if len(moments) > 1}
    return dg.AssetCheckResult(
        passed=not repeated,
        metadata={
            "repeated_count": len(repeated),
            "repeated_ids": ", ".join(
                f"{row_id} ({', '.join(str(moment) for moment in sorted(moments))})"
                for row_id, moments in sorted(repeated.items())[:20]
            ),
        },
    )


HISTORY_CHECKS = [
    item_history_stores_its_id_window,
    item_history_times_are_inside_the_hour,
    item_history_ids_are_in_one_hour,
]

item_history_job = dg.define_asset_job(
    "refresh_item_history",
    selection=dg.AssetSelection.assets(item_history),
    description="Fetch one hour of Hacker News items into `item_history` (the partition is the hour), checks included.",
)


def history_definitions(target: Target, env: Mapping[str, str]) -> dg.Definitions:
    """The history on ``target``: the asset (marked with its store), its checks, its job and the query resource."""
    assets = dg.map_asset_specs(lambda spec: spec.merge_attributes(kinds={target.store.value}), [item_history])
    return dg.Definitions(
        assets=assets,
        asset_checks=HISTORY_CHECKS,
        jobs=[item_history_job],
        resources={"warehouse_query": build_warehouse_query(target, env)},
    )

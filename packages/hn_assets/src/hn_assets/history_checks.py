"""The checks of ``item_history``, its job and its definitions.

Each check reads the warehouse with SQL (``WarehouseQuery``), so that it sees what is stored, not what a run meant to
store, and works the same in a branch deployment on a clone of production's tables. Each runs after the hours a run
wrote (one hour, or a backfill's range); three read those hours, one the whole ledger of windows, across partitions.
(That one is partitioned too: an unpartitioned check on an hourly asset makes Dagster list every hour since 2006,
some 2 s, on every run.)
"""

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import dagster as dg

from hn_assets.history import (
    HISTORY_TABLE,
    HOURLY,
    UNSTORED_KINDS,
    WINDOWS_TABLE,
    item_history,
    sql_hour,
    unix_hour,
)
from hn_assets.history_frame import HISTORY_FLAG_COLUMN, HISTORY_HOUR_COLUMN, HISTORY_TIME_COLUMN, HOUR_SECONDS
from hn_assets.metadata import id_list, without_empty
from hn_core.deployment.environment import Target
from hn_core.warehouse.query import WarehouseQuery, build_warehouse_query

#: Rows or hours listed in a check's metadata; the counts are always complete.
LISTED = 20


def hourly_check(description: str) -> dg.AssetChecksDefinition:
    """``@dg.asset_check`` on the hours of ``item_history`` that a run writes: it runs after them, on them."""
    return dg.asset_check(asset=item_history, partitions_def=HOURLY, description=description)


def run_hours(context: dg.AssetCheckExecutionContext) -> tuple[int, int]:
    """The hours the run wrote, ``[start, end)`` in Unix seconds: one partition, or a backfill's range."""
    window = context.op_execution_context.partition_time_window
    return int(window.start.timestamp()), int(window.end.timestamp())


def in_hours(warehouse: WarehouseQuery, start: int, end: int) -> str:
    """The condition Dagster's partition where-clause uses for these hours: ``partition_hour`` in ``[start, end)``."""
    column = warehouse.column(HISTORY_HOUR_COLUMN)
    return f"{column} >= {sql_hour(start)} AND {column} < {sql_hour(end)}"


@hourly_check(
    "Every id of each hour's window (the ledger `item_history_windows`) is stored once under that hour, or listed "
    "there as deleted, null or failed; no hour stores an id outside its window."
)
def item_history_stores_its_id_window(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    start, end = run_hours(context)
    q = warehouse_query
    ledger = q.rows(
        f"SELECT {q.column(HISTORY_HOUR_COLUMN)}, {q.column('first_id')}, {q.column('end_id')}, "
        f"{', '.join(q.column(kind) for kind in UNSTORED_KINDS)} "
        f"FROM {q.table(WINDOWS_TABLE)} WHERE {in_hours(q, start, end)}"
    )
    stored: dict[int, list[int]] = {}
    for hour, item_id in q.rows(
        f"SELECT {q.column(HISTORY_HOUR_COLUMN)}, {q.column('id')} FROM {q.table(HISTORY_TABLE)} "
        f"WHERE {in_hours(q, start, end)}"
    ):
        stored.setdefault(unix_hour(hour), []).append(item_id)
    recorded = {unix_hour(hour) for hour, *_ in ledger}
    unrecorded = [hour for hour in range(start, end, HOUR_SECONDS) if hour not in recorded]
    unaccounted, outside, stored_and_reported = [], [], []
    for hour, first_id, end_id, *unstored in ledger:
        window = set(range(first_id, end_id))
        here = set(stored.get(unix_hour(hour), []))
        reported = {item_id for ids in unstored for item_id in json.loads(ids)}
        unaccounted += sorted(window - here - reported)
        outside += sorted(here - window)
        stored_and_reported += sorted(here & reported)
    return dg.AssetCheckResult(
        passed=not (unrecorded or unaccounted or outside or stored_and_reported),
        metadata=without_empty(
            {
                "hour_count": len(ledger),
                "hours_without_a_recorded_window": ", ".join(
                    datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d %H:00") for hour in unrecorded[:LISTED]
                ),
                "stored_count": sum(len(ids) for ids in stored.values()),
                "unaccounted_ids": id_list(unaccounted),
                "ids_outside_window": id_list(outside),
                "ids_stored_and_reported": id_list(stored_and_reported),
            }
        ),
    )


@hourly_check(
    "Items whose time is outside the hour their id belongs to (out of id order, re-dated by the site, or without a "
    "time): stored and flagged, so a warning lists them; an error if a row's `time_outside_hour` flag is wrong."
)
def item_history_times_outside_their_hour(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    start, end = run_hours(context)
    q = warehouse_query
    hour, created_at, flag = (
        q.column(name) for name in (HISTORY_HOUR_COLUMN, HISTORY_TIME_COLUMN, HISTORY_FLAG_COLUMN)
    )
    rows = q.rows(
        f"SELECT {q.column('id')}, {q.column('time')}, {hour}, {flag}, "
        f"({created_at} IS NULL OR {created_at} < {hour} OR {created_at} >= {hour} + INTERVAL '1 HOUR') "
        f"FROM {q.table(HISTORY_TABLE)} WHERE {in_hours(q, start, end)} "
        f"AND ({flag} OR {created_at} IS NULL OR {created_at} < {hour} OR {created_at} >= {hour} + INTERVAL '1 HOUR') "
        f"ORDER BY {q.column('id')}"
    )
    outside = [row for row in rows if row[4]]
    misflagged = [row[0] for row in rows if bool(row[3]) != bool(row[4])]
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.ERROR if misflagged else dg.AssetCheckSeverity.WARN,
        metadata=without_empty(
            {
                "time_outside_hour_count": len(outside),
                "time_outside_hour": ", ".join(
                    f"{item_id} (time {moment}, hour {hour_start:%Y-%m-%d %H:00})"
                    for item_id, moment, hour_start, *_ in outside[:LISTED]
                ),
                "misflagged_ids": id_list(misflagged),
            }
        ),
    )


@hourly_check("No id stored under these hours is stored again, under them or any other hour.")
def item_history_ids_are_in_one_hour(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    start, end = run_hours(context)
    q = warehouse_query
    table, item_id, hour = q.table(HISTORY_TABLE), q.column("id"), q.column(HISTORY_HOUR_COLUMN)
    copies = q.rows(
        f"SELECT {item_id}, {hour} FROM {table} "
        f"WHERE {item_id} IN (SELECT {item_id} FROM {table} WHERE {in_hours(q, start, end)}) ORDER BY {item_id}"
    )
    hours_by_id: dict[int, list[datetime]] = {}
    for row_id, moment in copies:
        hours_by_id.setdefault(row_id, []).append(moment)
    repeated = {row_id: moments for row_id, moments in hours_by_id.items() if len(moments) > 1}
    return dg.AssetCheckResult(
        passed=not repeated,
        metadata=without_empty(
            {
                "repeated_count": len(repeated),
                "repeated_ids": ", ".join(
                    f"{row_id} ({', '.join(str(moment) for moment in sorted(moments))})"
                    for row_id, moments in list(repeated.items())[:LISTED]
                ),
            }
        ),
    )


@hourly_check(
    "Across all stored hours, not only the run's (the ledger `item_history_windows`): each window begins where the "
    "stored hour before it ends, so no id falls between two hours or into two; hours not stored yet are counted."
)
def item_history_windows_are_contiguous(warehouse_query: dg.ResourceParam[WarehouseQuery]) -> dg.AssetCheckResult:
    q = warehouse_query
    hour, first_id, end_id = (q.column(name) for name in (HISTORY_HOUR_COLUMN, "first_id", "end_id"))
    breaks = q.rows(
        f"SELECT hour, first_id, end_id, previous_hour, previous_end FROM ("
        f"SELECT {hour} AS hour, {first_id} AS first_id, {end_id} AS end_id, "
        f"LAG({hour}) OVER (ORDER BY {hour}) AS previous_hour, LAG({end_id}) OVER (ORDER BY {hour}) AS previous_end "
        f"FROM {q.table(WINDOWS_TABLE)}) AS paired "
        "WHERE end_id < first_id OR (previous_end IS NOT NULL AND first_id <> previous_end) ORDER BY hour"
    )
    [(stored_hours, first_hour, last_hour)] = q.rows(
        f"SELECT COUNT(*), MIN({hour}), MAX({hour}) FROM {q.table(WINDOWS_TABLE)}"
    )
    problems: dict[str, list[str]] = {"gaps": [], "overlaps": [], "reversed_windows": []}
    for moment, first, after, previous_hour, previous_end in breaks:
        label = f"{moment:%Y-%m-%d %H:00} ids {first}..{after - 1}"
        if after < first:
            problems["reversed_windows"].append(label)
        if previous_end is None:
            continue
        adjacent = moment - previous_hour == timedelta(hours=1)
        if first < previous_end:
            problems["overlaps"].append(f"{label}, the hour before ends at {previous_end - 1}")
        elif adjacent and first > previous_end:
            problems["gaps"].append(
                f"{label}, the hour before ends at {previous_end - 1}: ids {previous_end}..{first - 1} in no hour"
            )
    span = 0 if not stored_hours else int((last_hour - first_hour) / timedelta(hours=1)) + 1
    return dg.AssetCheckResult(
        passed=not any(problems.values()),
        metadata=without_empty(
            {
                "stored_hours": stored_hours,
                "hours_not_stored_between": span - stored_hours,
                **{f"{kind}_count": len(found) for kind, found in problems.items()},
                **{kind: "; ".join(found[:LISTED]) for kind, found in problems.items()},
            }
        ),
    )


HISTORY_CHECKS = [
    item_history_stores_its_id_window,
    item_history_times_outside_their_hour,
    item_history_ids_are_in_one_hour,
    item_history_windows_are_contiguous,
]

item_history_job = dg.define_asset_job(
    "refresh_item_history",
    selection=dg.AssetSelection.assets(item_history),
    description=(
        "Fetch hours of Hacker News items into `item_history` (one hour, or a backfill's range in one run), "
        "checks included."
    ),
)


def history_definitions(
    target: Target, env: Mapping[str, str], freshness_policy: dg.FreshnessPolicy | None = None
) -> dg.Definitions:
    """The history on ``target``: the asset (marked with its store, and with ``freshness_policy`` where given), its
    checks, its job and the query resource."""

    def on_target(spec: dg.AssetSpec) -> dg.AssetSpec:
        spec = spec.merge_attributes(kinds={target.store.value})
        return spec.replace_attributes(freshness_policy=freshness_policy) if freshness_policy else spec

    assets = dg.map_asset_specs(on_target, [item_history])
    return dg.Definitions(
        assets=assets,
        asset_checks=HISTORY_CHECKS,
        jobs=[item_history_job],
        resources={"warehouse_query": build_warehouse_query(target, env)},
    )

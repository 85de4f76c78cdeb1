"""The hourly history end to end, on items as irregular as the live site's: real HTTP to the offline server, runs of
one hour and of a backfill's whole range, the real I/O managers (DuckDB, and the Snowflake emulator in production
and a branch deployment), read back with SQL. Every id from the first stored hour's edge to the last is stored once,
or listed in the ledger as deleted, null or failed, whatever order runs happen in."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from pandas.testing import assert_frame_equal

from hn_assets.definitions import defs
from hn_assets.history import sql_hour
from hn_assets.history_checks import HISTORY_CHECKS
from hn_assets.history_frame import history_frame
from hn_assets.id_window import HourWindow, find_edges
from hn_core.hn_api import HNItem
from hn_core.hn_api.client import Item, StubHNClient
from hn_core.hn_api.model import ITEMS_DTYPES
from hn_offline_api.fixtures import ItemMix, ItemTiming, generate_items
from hn_offline_api.server import Faults, OfflineHNAPI, serve_in_thread
from hn_testing.hn_api import RunningHNAPI

HOUR = 3600
#: About 300 items in 24 hours (four minutes apart on average), an hour with no items at all (hour 11), and far more
#: irregular than the live site: one id in 25 a few seconds before the id below it, one story in 5 re-dated hours
#: later, stretches of never-created ids, dead items.
TIMING = ItemTiming(
    first_time=1_700_001_000,
    seconds_per_item=240,
    quiet_share=0.01,
    quiet_seconds=(3600, 7200),
    out_of_order_share=0.04,
    redated_share=0.2,
)
MIX = ItemMix(null=0.05, deleted=0.05, dead=0.05, null_stretch_share=0.01, null_stretch_ids=(5, 15))
ITEMS = generate_items(440, seed=1, mix=MIX, timing=TIMING)
FIRST_HOUR = TIMING.first_time - TIMING.first_time % HOUR
HOURS = [FIRST_HOUR + h * HOUR for h in range(24)]
COLUMN_DTYPES = {**ITEMS_DTYPES, "created_at": "datetime64[ns]", "partition_hour": "datetime64[ns]"}
COLUMN_DTYPES["time_outside_hour"] = "bool"


def partition_key(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d-%H:%M")


@dataclass
class Warehouse:
    """Where a run stores the history, and how a test reads it (and its ledger) back or damages it with SQL."""

    read: Callable[[], pd.DataFrame]
    windows: Callable[[], list[tuple[int, int, int]]]
    execute: Callable[[str], list[tuple]]
    schema: str


def ledger_rows(execute: Callable[[str], list[tuple]], schema: str) -> list[tuple[int, int, int]]:
    rows = execute(f"SELECT partition_hour, first_id, end_id FROM {schema}.ITEM_HISTORY_WINDOWS ORDER BY 1")
    return [(int(hour.replace(tzinfo=UTC).timestamp()), first, end) for hour, first, end in rows]


@pytest.fixture
def history_api() -> Iterator[RunningHNAPI]:
    """The offline HN API serving ``ITEMS``; set ``.api.faults`` to change what it serves mid-test."""
    api = OfflineHNAPI(ITEMS)
    with serve_in_thread(api) as base_url:
        yield RunningHNAPI(api, base_url)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """The runs' instance: in memory, kept for the test."""
    return dg.DagsterInstance.ephemeral()


def duckdb_warehouse(path: str) -> Warehouse:
    def execute(sql: str) -> list[tuple]:
        with duckdb.connect(path) as connection:
            return connection.execute(sql).fetchall()

    def read() -> pd.DataFrame:
        with duckdb.connect(path, read_only=True) as connection:
            frame = connection.sql("SELECT * FROM HACKER_NEWS.item_history ORDER BY id").df()
        return frame.astype(COLUMN_DTYPES)

    return Warehouse(read, lambda: ledger_rows(execute, "HACKER_NEWS"), execute, "HACKER_NEWS")


@pytest.fixture
def local_warehouse(use_environment, tmp_path: Path, history_api: RunningHNAPI) -> Warehouse:
    path = str(tmp_path / "history.duckdb")
    use_environment("local", HN_DUCKDB_PATH=path, HN_API_BASE_URL=history_api.base_url)
    return duckdb_warehouse(path)


def snowflake_warehouse(emulator, database: str) -> Warehouse:
    def read() -> pd.DataFrame:
        frame = emulator.read_table(f"{database}.HACKER_NEWS.ITEM_HISTORY").rename(columns=str.lower)
        return frame.astype(COLUMN_DTYPES).sort_values("id").reset_index(drop=True)

    schema = f"{database}.HACKER_NEWS"
    return Warehouse(read, lambda: ledger_rows(emulator.execute, schema), emulator.execute, schema)


def run_hours(first: int, last: int, instance: dg.DagsterInstance, run_config: dict | None = None):
    """One run of the hours ``first..last``, as a backfill (single-run policy) or the schedule launches it."""
    job = defs().resolve_job_def("refresh_item_history")
    tags = {ASSET_PARTITION_RANGE_START_TAG: partition_key(first), ASSET_PARTITION_RANGE_END_TAG: partition_key(last)}
    if first == last:
        return job.execute_in_process(
            partition_key=partition_key(first), instance=instance, run_config=run_config, raise_on_error=False
        )
    return job.execute_in_process(tags=tags, instance=instance, run_config=run_config, raise_on_error=False)


def run_hour(hour: int, instance: dg.DagsterInstance, run_config: dict | None = None):
    return run_hours(hour, hour, instance, run_config)


def failure(result: dg.ExecuteInProcessResult) -> str:
    event = result.get_step_failure_events()[0].event_specific_data
    return event.user_failure_data.description if event.user_failure_data else event.error.message


def readable(metadata: dict) -> dict:
    """``metadata``'s values, once checked as the UI shows them: snake_case keys, no blank cell."""
    shown = {key: getattr(value, "value", value) for key, value in metadata.items()}
    assert [key for key in shown if not re.fullmatch(r"(dagster/)?[a-z][a-z0-9_]*", key)] == []
    assert [key for key, value in shown.items() if value in ("", None, [], {})] == []
    return shown


def preview_ids(preview: str) -> list[int]:
    """The ``id`` column of a Markdown preview, top to bottom (a wrapped text continues on rows without an id)."""
    cells = [row.strip("|").split("|")[0].strip() for row in preview.splitlines()[2:]]
    return [int(cell) for cell in cells if cell]


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, dg.AssetCheckSeverity]]:
    return {e.check_name: (e.passed, e.severity) for e in result.get_asset_check_evaluations()}


def expected_history(items: dict[int, Item | None], windows: list[tuple[int, int, int]]) -> pd.DataFrame:
    """Every live item the API serves with an id in the stored windows, under the hour of its window."""
    hour_windows = [HourWindow(hour, hour + HOUR, first, end) for hour, first, end in windows]
    live = [
        HNItem.validate(item)
        for item_id, item in items.items()
        if item is not None and not item.get("deleted") and windows[0][1] <= item_id < windows[-1][2]
    ]
    return history_frame(live, hour_windows)


def assert_every_id_stored_once(warehouse: Warehouse, items: dict[int, Item | None], hours: list[int]) -> None:
    """The ledger covers ``hours`` with windows that tile; each id in them is stored once, in its window's hour, as
    the API serves it; flags say exactly which times are outside their hour; nothing else is stored."""
    windows = warehouse.windows()
    assert [hour for hour, _, _ in windows] == hours
    assert [first for _, first, _ in windows[1:]] == [end for _, _, end in windows[:-1]], "no gap, no overlap"
    stored = warehouse.read()
    assert stored["id"].is_unique
    assert_frame_equal(stored, expected_history(items, windows))
    times = stored["time"].astype("float64")
    hour_start = stored["partition_hour"].astype("int64") // 10**9
    brute_outside = times.isna() | (times < hour_start) | (times >= hour_start + HOUR)
    assert stored["time_outside_hour"].tolist() == brute_outside.tolist()
    in_range = [
        i for i, item in items.items() if item and not item.get("deleted") and item["time"] // HOUR * HOUR in hours
    ]
    assert len(set(in_range) - set(stored["id"])) <= 0.1 * len(in_range), "only re-dated or edge items elsewhere"


@pytest.mark.parametrize("store", ["duckdb", "snowflake-production", "snowflake-branch"])
def test_a_24_hour_backfill_in_one_run_stores_every_id_once(
    store, request, use_environment, history_api, instance
) -> None:
    if store == "duckdb":
        warehouse = request.getfixturevalue("local_warehouse")
    else:
        emulator = request.getfixturevalue("snowflake_emulator")
        database = "PRODUCTION" if store.endswith("production") else "PRODUCTION_CLONE_42"
        use_environment(
            store.removeprefix("snowflake-"),
            42 if database != "PRODUCTION" else None,
            HN_API_BASE_URL=history_api.base_url,
        )
        if database != "PRODUCTION":
            emulator.create_database(database)  # clone_prod made it; see db_ops for the clone itself
        before = {name: emulator.tables(name) for name in emulator.databases()}
        warehouse = snowflake_warehouse(emulator, database)

    result = run_hours(HOURS[0], HOURS[-1], instance)

    assert result.success, failure(result)
    assert_every_id_stored_once(warehouse, ITEMS, HOURS)
    outcomes = check_outcomes(result)
    assert outcomes.pop("item_history_times_outside_their_hour") == (False, dg.AssetCheckSeverity.WARN)
    if store == "snowflake-branch":  # a branch reports how it differs from its base: this clone was made without one
        assert outcomes.pop("item_history_differs_from_base") == (True, dg.AssetCheckSeverity.ERROR)
    assert outcomes == dict.fromkeys(
        [
            "item_history_stores_its_id_window",
            "item_history_ids_are_in_one_hour",
            "item_history_windows_are_contiguous",
        ],
        (True, dg.AssetCheckSeverity.ERROR),
    )
    materialization = result.asset_materializations_for_node("item_history")
    assert len(materialization) == 24, "one materialization per hour of the range"
    metadata = readable(materialization[0].metadata)
    assert metadata["dagster/partition_row_count"] == len(warehouse.read())
    assert metadata["time_outside_hour_count"] == int(warehouse.read()["time_outside_hour"].sum()) > 0
    assert metadata["dead_count"] == int(warehouse.read()["dead"].sum()) > 0
    # Where the hours were fetched from and stored, the table named as the warehouse names it; one key per fact
    # (the rows are the hours', so no dagster/row_count); the newest rows and the latest hours first.
    environment, table = {
        "duckdb": ("local", "HACKER_NEWS.ITEM_HISTORY"),
        "snowflake-production": ("production", "PRODUCTION.HACKER_NEWS.ITEM_HISTORY"),
        "snowflake-branch": ("branch (pull request 42)", "PRODUCTION_CLONE_42.HACKER_NEWS.ITEM_HISTORY"),
    }[store]
    assert (metadata["environment"], metadata["hn_api_url"]) == (environment, history_api.base_url)
    assert metadata["dagster/table_name"] == table
    assert not {"dagster/row_count", "min_id", "max_id", "requested", "Query"} & set(metadata)
    assert (metadata["first_id"], metadata["last_id"] + 1) == (warehouse.windows()[0][1], warehouse.windows()[-1][2])
    assert preview_ids(metadata["preview"]) == sorted(warehouse.read()["id"], reverse=True)[:10]
    assert metadata["hours"].splitlines()[2].startswith(f"| {datetime.fromtimestamp(HOURS[-1], UTC):%Y-%m-%d %H}:00")
    for evaluation in result.get_asset_check_evaluations():
        readable(evaluation.metadata)
    quiet = [(hour, first, end) for hour, first, end in warehouse.windows() if hour == HOURS[11]]
    assert quiet[0][1] == quiet[0][2], "hour 11 has no items: an empty window, recorded"
    if store != "duckdb":
        after = {name: emulator.tables(name) for name in emulator.databases()}
        assert after == {**before, database: {"HACKER_NEWS.ITEM_HISTORY", "HACKER_NEWS.ITEM_HISTORY_WINDOWS"}}


def test_adjacent_hours_run_one_by_one_in_any_order_store_every_id_once(local_warehouse, instance) -> None:
    hours = HOURS[2:10]
    order = [*hours, *hours]
    random.Random(4).shuffle(order)

    results = [run_hour(hour, instance) for hour in order]

    assert all(result.success for result in results), [failure(r) for r in results if not r.success]
    assert all(
        passed
        for result in results
        for name, (passed, _) in check_outcomes(result).items()
        if name != "item_history_times_outside_their_hour"
    )
    assert_every_id_stored_once(local_warehouse, ITEMS, hours)


def test_hours_run_one_by_one_get_the_windows_of_one_backfill(use_environment, tmp_path, history_api, instance) -> None:
    stores = {}
    for name, runs in (("one_by_one", [(hour, hour) for hour in HOURS[4:12]]), ("backfill", [(HOURS[4], HOURS[11])])):
        use_environment("local", HN_DUCKDB_PATH=str(tmp_path / f"{name}.duckdb"), HN_API_BASE_URL=history_api.base_url)
        assert all(run_hours(first, last, instance).success for first, last in runs)
        stores[name] = duckdb_warehouse(str(tmp_path / f"{name}.duckdb"))

    assert stores["one_by_one"].windows() == stores["backfill"].windows()
    assert_frame_equal(stores["one_by_one"].read(), stores["backfill"].read())


def test_an_item_re_dated_after_its_hour_was_stored_is_never_stored_twice(
    local_warehouse, history_api, instance
) -> None:
    assert run_hour(HOURS[2], instance).success
    [(_, first_id, end_id)] = local_warehouse.windows()
    moved = [i for i in range(first_id, end_id) if ITEMS[i] and not ITEMS[i].get("deleted")][:2]
    history_api.api.faults = Faults(  # the site re-dates two of the stored hour's items two hours later
        bodies={i: json.dumps({**ITEMS[i], "time": HOURS[4] + 60}).encode() for i in moved}
    )

    later, between = run_hour(HOURS[4], instance), run_hour(HOURS[3], instance)

    assert later.success, failure(later)
    assert between.success, failure(between)
    assert all(
        passed
        for result in (later, between)
        for name, (passed, _) in check_outcomes(result).items()
        if name != "item_history_times_outside_their_hour"
    )
    windows = local_warehouse.windows()
    assert [first for _, first, _ in windows[1:]] == [end for _, _, end in windows[:-1]]
    stored = local_warehouse.read()
    assert stored["id"].is_unique
    assert set(moved) <= set(stored.loc[stored["partition_hour"] == pd.Timestamp(HOURS[2], unit="s"), "id"])


def straddling(items: dict[int, Item | None], hour: int) -> tuple[dict[int, Item | None], list[int]]:
    """``items`` with the first two live ids of ``hour`` timed across its start: 1 s after it, then 1 s before."""
    ordered = generate_items(len(items), seed=1, mix=MIX, timing=replace(TIMING, out_of_order_share=0, redated_share=0))
    first, second = [i for i, item in ordered.items() if item and not item.get("deleted") and item["time"] >= hour][:2]
    changed = {**items, first: {**items[first], "time": hour + 1}, second: {**items[second], "time": hour - 1}}
    return changed, [first, second]


def test_a_pair_straddling_an_hour_stores_both_items_once(use_environment, tmp_path, instance) -> None:
    items, pair_ids = straddling(ITEMS, HOURS[6])
    with serve_in_thread(OfflineHNAPI(items)) as base_url:
        use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "h.duckdb"), HN_API_BASE_URL=base_url)
        warehouse = duckdb_warehouse(str(tmp_path / "h.duckdb"))
        results = [run_hour(HOURS[6], instance), run_hour(HOURS[5], instance), run_hour(HOURS[6], instance)]

    assert [result.success for result in results] == [True] * 3, [failure(r) for r in results if not r.success]
    assert_every_id_stored_once(warehouse, items, HOURS[5:7])
    pair = warehouse.read().set_index("id").loc[pair_ids]
    assert pair["time_outside_hour"].any(), "whichever hour holds them, an item on the wrong side is flagged"


def test_a_quiet_hour_next_to_never_created_ids_stores_its_items(use_environment, tmp_path, instance) -> None:
    hour = HOURS[3]
    items: dict[int, Item | None] = {1: {"id": 1, "type": "story", "by": "pg", "time": hour - 600}}
    items.update(dict.fromkeys(range(2, 8)))  # a dozen ids never created, on both sides of the hour's items
    items.update({i: {"id": i, "type": "story", "by": "pg", "time": hour + 60 * i} for i in range(8, 13)})
    items.update(dict.fromkeys(range(13, 19)))
    items[19] = {"id": 19, "type": "story", "by": "pg", "time": hour + HOUR + 5}
    with serve_in_thread(OfflineHNAPI(items)) as base_url:
        use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "q.duckdb"), HN_API_BASE_URL=base_url)
        result = run_hour(hour, instance)

    assert result.success, failure(result)
    warehouse = duckdb_warehouse(str(tmp_path / "q.duckdb"))
    assert warehouse.read()["id"].tolist() == [8, 9, 10, 11, 12]
    [(_, first_id, end_id)] = warehouse.windows()
    assert (first_id, end_id) == (2, 13), "6 never-created ids of its own and 5 items: more than 20% null, stored"


@pytest.mark.parametrize("store", ["duckdb", "snowflake"])
def test_rerunning_one_hour_replaces_that_hour_and_nothing_else(
    store, request, use_environment, history_api, instance
) -> None:
    if store == "duckdb":
        local_warehouse = request.getfixturevalue("local_warehouse")
    else:
        use_environment("production", HN_API_BASE_URL=history_api.base_url)
        local_warehouse = snowflake_warehouse(request.getfixturevalue("snowflake_emulator"), "PRODUCTION")
    assert run_hours(HOURS[0], HOURS[3], instance).success
    before, windows = local_warehouse.read(), local_warehouse.windows()
    in_hour = before["partition_hour"] == pd.Timestamp(HOURS[2], unit="s")
    changed_in_hour = int(before.loc[in_hour, "id"].iloc[1])
    changed_elsewhere = int(before.loc[~in_hour, "id"].iloc[1])
    history_api.api.faults = Faults(
        bodies={
            changed_in_hour: json.dumps({**ITEMS[changed_in_hour], "score": 999}).encode(),
            changed_elsewhere: json.dumps({**ITEMS[changed_elsewhere], "score": 7}).encode(),
        }
    )

    assert run_hour(HOURS[2], instance).success

    after = local_warehouse.read()
    assert local_warehouse.windows() == windows, "the neighbours' edges were reused"
    assert_frame_equal(after[~in_hour.to_numpy()], before[~in_hour], check_index_type=False)
    difference = after.compare(before)
    assert list(difference.index) == [int(before.index[before["id"] == changed_in_hour][0])]
    assert after.loc[after["id"] == changed_in_hour, "score"].tolist() == [999]


def test_hours_the_api_has_not_finished_are_refused_and_nothing_is_written(local_warehouse, instance) -> None:
    newest_time = max(item["time"] for item in ITEMS.values() if item)
    last_complete = newest_time - newest_time % HOUR - HOUR
    assert run_hour(last_complete, instance).success
    before = local_warehouse.read()

    result = run_hours(last_complete - HOUR, last_complete + HOUR, instance)

    assert not result.success
    assert "are not over in the HN API yet" in failure(result)
    assert_frame_equal(local_warehouse.read(), before)


@pytest.mark.parametrize("probed", [False, True], ids=["an id of a window", "an id the edge search looks at"])
def test_a_failed_id_fails_the_run_before_writing(local_warehouse, history_api, instance, probed) -> None:
    assert run_hours(HOURS[2], HOURS[4], instance).success
    before = local_warehouse.read()
    search = find_edges(StubHNClient(ITEMS), HOURS[2:6])  # the rule is deterministic: the run looks at the same ids
    looked_at = {probe.item_id for probe in search.probes}
    failing = next(i for i in before["id"] if (i in search.ids.values() if probed else i not in looked_at))
    history_api.api.faults = Faults(fail_ids=frozenset({failing}))

    result = run_hours(HOURS[2], HOURS[4], instance, {"resources": {"hn_client": {"config": {"max_retries": 0}}}})

    assert not result.success
    if probed:
        assert f"Nothing was written: Id {failing}, which the search for the hours' edges must look at, could not" in (
            failure(result)
        )
    else:
        assert "Nothing was written, the hours keep their last good rows: 1 of " in failure(result)
        assert f"items failed (max_failed_items is 0): {failing}." in failure(result)
    assert_frame_equal(local_warehouse.read(), before)


# -- the checks fail on a damaged table ------------------------------------------------------------------------


def run_checks(hour: int, instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    """Only the history's checks, on one hour, given as the run's partition tag as a launched run carries it."""
    job = dg.define_asset_job("history_checks", selection=dg.AssetSelection.checks(*HISTORY_CHECKS))
    checks = dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def("history_checks")
    result = checks.execute_in_process(
        tags={"dagster/partition": partition_key(hour)}, instance=instance, raise_on_error=False
    )
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


@pytest.fixture
def stored_hours(local_warehouse: Warehouse, instance) -> Warehouse:
    assert run_hours(HOURS[0], HOURS[2], instance).success
    checks = run_checks(HOURS[1], instance)
    assert all(check.passed for name, check in checks.items() if name != "item_history_times_outside_their_hour")
    return local_warehouse


def a_stored_id(warehouse: Warehouse, hour: int) -> int:
    return warehouse.execute(
        f"SELECT min(id) FROM HACKER_NEWS.item_history "
        f"WHERE partition_hour = {sql_hour(hour)} AND NOT time_outside_hour"
    )[0][0]


def test_the_window_check_fails_on_a_row_lost_without_a_report(stored_hours: Warehouse, instance) -> None:
    lost = a_stored_id(stored_hours, HOURS[1])
    stored_hours.execute(f"DELETE FROM HACKER_NEWS.item_history WHERE id = {lost}")

    check = run_checks(HOURS[1], instance)["item_history_stores_its_id_window"]

    assert not check.passed
    assert check.metadata["unaccounted_ids"].value == str(lost)


def test_the_window_check_fails_on_an_hour_without_a_recorded_window(stored_hours: Warehouse, instance) -> None:
    stored_hours.execute(f"DELETE FROM HACKER_NEWS.item_history_windows WHERE partition_hour = {sql_hour(HOURS[1])}")

    check = run_checks(HOURS[1], instance)["item_history_stores_its_id_window"]

    assert not check.passed
    assert (
        check.metadata["hours_without_a_recorded_window"].value
        == f"{datetime.fromtimestamp(HOURS[1], UTC):%Y-%m-%d %H}:00"
    )


@pytest.mark.parametrize(("shift", "kind"), [(1, "gaps"), (-1, "overlaps")])
def test_the_contiguity_check_fails_on_a_planted_gap_or_overlap(stored_hours: Warehouse, instance, shift, kind) -> None:
    stored_hours.execute(
        f"UPDATE HACKER_NEWS.item_history_windows SET first_id = first_id + {shift} "
        f"WHERE partition_hour = {sql_hour(HOURS[2])}"
    )

    check = run_checks(HOURS[1], instance)["item_history_windows_are_contiguous"]

    assert not check.passed
    assert check.metadata[f"{kind}_count"].value == 1
    assert check.metadata[kind].value.startswith(f"{datetime.fromtimestamp(HOURS[2], UTC):%Y-%m-%d %H}:00 ids ")


def test_the_time_check_warns_on_flagged_items_and_errs_on_a_wrong_flag(stored_hours: Warehouse, instance) -> None:
    moved = a_stored_id(stored_hours, HOURS[1])
    stored_hours.execute(
        f"UPDATE HACKER_NEWS.item_history SET created_at = created_at + INTERVAL 2 HOUR WHERE id = {moved}"
    )

    check = run_checks(HOURS[1], instance)["item_history_times_outside_their_hour"]

    assert not check.passed
    assert check.severity is dg.AssetCheckSeverity.ERROR
    assert check.metadata["misflagged_ids"].value == str(moved)
    stored_hours.execute(f"UPDATE HACKER_NEWS.item_history SET time_outside_hour = true WHERE id = {moved}")
    again = run_checks(HOURS[1], instance)["item_history_times_outside_their_hour"]
    assert not again.passed
    assert again.severity is dg.AssetCheckSeverity.WARN
    assert f"{moved} (time " in again.metadata["time_outside_hour"].value


def test_the_one_hour_check_fails_on_an_id_stored_under_two_hours(stored_hours: Warehouse, instance) -> None:
    copied = a_stored_id(stored_hours, HOURS[1])
    stored_hours.execute(
        "INSERT INTO HACKER_NEWS.item_history SELECT * REPLACE (partition_hour + INTERVAL 1 HOUR AS partition_hour) "
        f"FROM HACKER_NEWS.item_history WHERE id = {copied}"
    )

    in_its_hour, in_the_next = run_checks(HOURS[1], instance), run_checks(HOURS[2], instance)

    for checks in (in_its_hour, in_the_next):
        assert not checks["item_history_ids_are_in_one_hour"].passed
        assert checks["item_history_ids_are_in_one_hour"].metadata["repeated_ids"].value.startswith(f"{copied} (")
    assert not in_the_next["item_history_stores_its_id_window"].passed, "the copy is outside the next hour's window"

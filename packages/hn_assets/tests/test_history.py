"""The hourly history end to end: real HTTP to the offline server, one run per hour as a backfill launches them,
the real I/O managers (DuckDB, and the Snowflake emulator in production and a branch deployment), read back with SQL.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from hn_assets.definitions import defs
from hn_assets.history import HISTORY_CHECKS
from hn_core import HNItem
from hn_core.client import Item
from hn_core.fixtures import ItemMix, ItemTiming, generate_items
from hn_core.model import ITEMS_DTYPES
from hn_core.offline_server import Faults, OfflineHNAPI, serve_in_thread
from hn_core.transforms import history_frame
from hn_testing.hn_api import RunningHNAPI

HOUR = 3600
#: About 300 items in 24 hours (four minutes apart on average) with one hour of no items at all (hour 11).
TIMING = ItemTiming(first_time=1_700_001_000, seconds_per_item=240, quiet_share=0.01, quiet_seconds=(3600, 7200))
ITEMS = generate_items(440, seed=1, mix=ItemMix(null=0.05, deleted=0.05), timing=TIMING)
FIRST_HOUR = TIMING.first_time - TIMING.first_time % HOUR
HOURS = [FIRST_HOUR + h * HOUR for h in range(24)]
COLUMN_DTYPES = {**ITEMS_DTYPES, "created_at": "datetime64[ns]"}


def partition_key(hour: int) -> str:
    return datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%d-%H:%M")


def expected_history(items: dict[int, Item | None], hours: list[int]) -> pd.DataFrame:
    """Brute force: every live item whose time falls in one of ``hours``, as the history stores it."""
    wanted = [
        HNItem.model_validate(item)
        for item in items.values()
        if item is not None and not item.get("deleted") and hours[0] <= item["time"] < hours[-1] + HOUR
    ]
    return history_frame(wanted)


@dataclass
class Warehouse:
    """Where a run stores the history, and how a test reads it back or damages it with SQL."""

    read: Callable[[], pd.DataFrame]
    execute: Callable[[str], list[tuple]]
    table: str


@pytest.fixture
def history_api() -> Iterator[RunningHNAPI]:
    """The offline HN API serving ``ITEMS``; set ``.api.faults`` to change what it serves mid-test."""
    api = OfflineHNAPI(ITEMS)
    with serve_in_thread(api) as base_url:
        yield RunningHNAPI(api, base_url)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """The runs' instance: in memory, kept for the test, so that checks read the materializations runs recorded."""
    return dg.DagsterInstance.ephemeral()


@pytest.fixture
def local_warehouse(use_environment, tmp_path: Path, history_api: RunningHNAPI) -> Warehouse:
    path = str(tmp_path / "history.duckdb")
    use_environment("local", HN_DUCKDB_PATH=path, HN_API_BASE_URL=history_api.base_url)

    def execute(sql: str) -> list[tuple]:
        with duckdb.connect(path) as connection:
            return connection.execute(sql).fetchall()

    def read() -> pd.DataFrame:
        with duckdb.connect(path, read_only=True) as connection:
            frame = connection.sql("SELECT * FROM HACKER_NEWS.ITEM_HISTORY ORDER BY id").df()
        return frame.astype(COLUMN_DTYPES)

    return Warehouse(read, execute, "HACKER_NEWS.ITEM_HISTORY")


def snowflake_warehouse(emulator, database: str) -> Warehouse:
    table = f"{database}.HACKER_NEWS.ITEM_HISTORY"

    def read() -> pd.DataFrame:
        frame = emulator.read_table(table).rename(columns=str.lower)
        return frame.astype(COLUMN_DTYPES).sort_values("id").reset_index(drop=True)

    return Warehouse(read, emulator.execute, table)


def run_hour(hour: int, instance: dg.DagsterInstance, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    """One run of one hour, as a backfill or the schedule launches it, on the location as it loads."""
    job = defs().resolve_job_def("refresh_item_history")
    return job.execute_in_process(
        partition_key=partition_key(hour), instance=instance, run_config=run_config, raise_on_error=False
    )


def backfill(hours: list[int], instance: dg.DagsterInstance) -> list[dg.ExecuteInProcessResult]:
    return [run_hour(hour, instance) for hour in hours]


def materialization(result: dg.ExecuteInProcessResult) -> dict:
    return {
        key: value.value for key, value in result.asset_materializations_for_node("item_history")[0].metadata.items()
    }


def failure(result: dg.ExecuteInProcessResult) -> str:
    event = result.get_step_failure_events()[0].event_specific_data
    return event.user_failure_data.description if event.user_failure_data else event.error.message


def assert_backfill_stored_every_item_once(results: list[dg.ExecuteInProcessResult], warehouse: Warehouse) -> None:
    assert [result.success for result in results] == [True] * len(results)
    checks = [(e.check_name, e.passed) for result in results for e in result.get_asset_check_evaluations()]
    assert len(checks) == 3 * len(results)
    assert all(passed for _, passed in checks), [check for check in checks if not check[1]]
    windows = [materialization(result) for result in results]
    for earlier, later in itertools.pairwise(windows):
        assert earlier["last_id"] + 1 == later["first_id"], "adjacent hours: contiguous ids, no gap, no overlap"
    assert_frame_equal(warehouse.read(), expected_history(ITEMS, HOURS))


def test_a_24_hour_backfill_into_duckdb_stores_every_item_once(local_warehouse: Warehouse, instance) -> None:
    results = backfill(HOURS, instance)

    assert_backfill_stored_every_item_once(results, local_warehouse)
    per_hour = local_warehouse.execute(
        "SELECT date_trunc('hour', created_at), count(*), count(DISTINCT id), min(time), max(time) "
        "FROM HACKER_NEWS.ITEM_HISTORY GROUP BY 1 ORDER BY 1"
    )
    expected = expected_history(ITEMS, HOURS)
    expected_per_hour = expected.groupby(expected["created_at"].dt.floor("h"))["id"].count()
    assert [(moment, rows) for moment, rows, *_ in per_hour] == list(expected_per_hour.items())
    assert all(rows == distinct for _, rows, distinct, *_ in per_hour)
    assert all(
        moment.timestamp() <= first <= last < moment.timestamp() + HOUR
        for moment, _, _, first, last in ((m.replace(tzinfo=UTC), *rest) for m, *rest in per_hour)
    )
    quiet = materialization(results[11])
    assert (quiet["id_count"], quiet["dagster/row_count"]) == (0, 0), "hour 11 has no items and is stored empty"


@pytest.mark.parametrize(
    ("environment", "pull_request_id", "database"),
    [("production", None, "PRODUCTION"), ("branch", 42, "PRODUCTION_CLONE_42")],
)
def test_a_24_hour_backfill_into_snowflake_writes_only_its_database(
    environment, pull_request_id, database, use_environment, snowflake_emulator, history_api, instance
) -> None:
    use_environment(environment, pull_request_id, HN_API_BASE_URL=history_api.base_url)
    if environment == "branch":
        snowflake_emulator.create_database(database)  # clone_prod made it; see db_ops for the clone itself
    before = {name: snowflake_emulator.tables(name) for name in snowflake_emulator.databases()}

    results = backfill(HOURS, instance)

    assert_backfill_stored_every_item_once(results, snowflake_warehouse(snowflake_emulator, database))
    after = {name: snowflake_emulator.tables(name) for name in snowflake_emulator.databases()}
    assert after == {**before, database: {"HACKER_NEWS.ITEM_HISTORY"}}
    per_hour = snowflake_emulator.execute(
        f"SELECT DATE_TRUNC('HOUR', created_at) AS hour, COUNT(*), COUNT(DISTINCT id) "
        f"FROM {database}.HACKER_NEWS.ITEM_HISTORY GROUP BY hour ORDER BY hour"
    )
    assert sum(rows for _, rows, _ in per_hour) == len(expected_history(ITEMS, HOURS))
    assert all(rows == distinct for _, rows, distinct in per_hour)


def edited(item_id: int, **changes: object) -> bytes:
    return json.dumps({**ITEMS[item_id], **changes}).encode()


def live_ids_in(hour: int) -> list[int]:
    return [i for i, item in ITEMS.items() if item and not item.get("deleted") and hour <= item["time"] < hour + HOUR]


def live_id_in(hour: int) -> int:
    """A live item of ``hour`` away from its edges."""
    ids = live_ids_in(hour)
    return ids[len(ids) // 2]


@pytest.mark.parametrize("store", ["duckdb", "snowflake"])
def test_rerunning_one_hour_replaces_that_hour_and_nothing_else(
    store, request, use_environment, history_api, instance
) -> None:
    if store == "duckdb":
        warehouse = request.getfixturevalue("local_warehouse")
    else:
        use_environment("production", HN_API_BASE_URL=history_api.base_url)
        warehouse = snowflake_warehouse(request.getfixturevalue("snowflake_emulator"), "PRODUCTION")
    hours = HOURS[:4]
    assert all(result.success for result in backfill(hours, instance))
    before = warehouse.read()
    changed_in_hour, changed_elsewhere = live_id_in(hours[2]), live_id_in(hours[1])
    history_api.api.faults = Faults(
        bodies={
            changed_in_hour: edited(changed_in_hour, score=999),
            changed_elsewhere: edited(changed_elsewhere, score=7),
        }
    )

    assert run_hour(hours[2], instance).success

    after = warehouse.read()
    in_hour = (before["created_at"] >= pd.Timestamp(hours[2], unit="s")) & (
        before["created_at"] < pd.Timestamp(hours[2] + HOUR, unit="s")
    )
    assert_frame_equal(after[~in_hour.to_numpy()], before[~in_hour], check_index_type=False)
    difference = after.compare(before)
    assert list(difference.index) == [int(before.index[before["id"] == changed_in_hour][0])]
    assert after.loc[after["id"] == changed_in_hour, "score"].tolist() == [999]
    assert_frame_equal(after[after["id"] == changed_elsewhere], before[before["id"] == changed_elsewhere])


def test_an_hour_the_api_has_not_finished_is_refused_and_nothing_is_written(local_warehouse, instance) -> None:
    newest_time = max(item["time"] for item in ITEMS.values() if item)
    last_complete = newest_time - newest_time % HOUR - HOUR
    assert run_hour(last_complete, instance).success
    before = local_warehouse.read()

    result = run_hour(last_complete + HOUR, instance)

    assert not result.success
    assert "is not over in the HN API yet" in failure(result)
    assert_frame_equal(local_warehouse.read(), before)


def test_a_failed_id_fails_the_hour_before_writing(local_warehouse, history_api, instance) -> None:
    hour = HOURS[3]
    assert run_hour(hour, instance).success
    before = local_warehouse.read()
    history_api.api.faults = Faults(fail_ids=frozenset({live_id_in(hour)}))

    result = run_hour(hour, instance, run_config={"resources": {"hn_client": {"config": {"max_retries": 0}}}})

    assert not result.success
    assert "Nothing was written, the hour keeps its last good rows: 1 of " in failure(result)
    assert f"items failed (max_failed_items is 0): {live_id_in(hour)}." in failure(result)
    assert_frame_equal(local_warehouse.read(), before)


def test_an_item_out_of_time_order_inside_the_window_is_refused_before_writing(
    local_warehouse, history_api, instance
) -> None:
    hour = HOURS[5]
    assert run_hour(hour, instance).success
    before = local_warehouse.read()
    stray = live_id_in(hour) + 1  # the probes do not look at it; the fetch of the whole window does
    history_api.api.faults = Faults(bodies={stray: edited(stray, time=HOURS[0] - 5 * HOUR)})

    result = run_hour(hour, instance)

    assert not result.success
    assert f"Items {stray} (time {HOURS[0] - 5 * HOUR})" in failure(result)
    assert_frame_equal(local_warehouse.read(), before)


# -- the checks fail on a damaged table ------------------------------------------------------------------------


def run_checks(hour: int, instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    """Only the history's checks, on one hour. A job of checks alone selects no asset, so Dagster cannot validate a
    ``partition_key`` against one: the hour is given as the run's partition tag, as a launched run carries it."""
    job = dg.define_asset_job("history_checks", selection=dg.AssetSelection.checks(*HISTORY_CHECKS))
    checks = dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def("history_checks")
    result = checks.execute_in_process(
        tags={"dagster/partition": partition_key(hour)}, instance=instance, raise_on_error=False
    )
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


@pytest.fixture
def stored_hours(local_warehouse: Warehouse, instance) -> Warehouse:
    assert all(result.success for result in backfill(HOURS[:3], instance))
    assert all(check.passed for check in run_checks(HOURS[1], instance).values())
    return local_warehouse


def test_the_window_check_fails_on_a_row_lost_without_a_report(stored_hours: Warehouse, instance) -> None:
    lost = live_id_in(HOURS[1])
    stored_hours.execute(f"DELETE FROM HACKER_NEWS.ITEM_HISTORY WHERE id = {lost}")

    check = run_checks(HOURS[1], instance)["item_history_stores_its_id_window"]

    assert not check.passed
    assert check.metadata["unaccounted_ids"].value == str(lost)


def test_the_window_check_fails_without_a_recorded_window(stored_hours: Warehouse) -> None:
    with dg.instance_for_test() as fresh_instance:
        check = run_checks(HOURS[1], fresh_instance)["item_history_stores_its_id_window"]

    assert not check.passed
    assert check.metadata["problem"].value == "no materialization of this hour is recorded"


def test_the_time_check_fails_on_a_row_whose_time_is_outside_the_hour(stored_hours: Warehouse, instance) -> None:
    moved = live_id_in(HOURS[1])
    stored_hours.execute(f"UPDATE HACKER_NEWS.ITEM_HISTORY SET time = time + {2 * HOUR} WHERE id = {moved}")

    checks = run_checks(HOURS[1], instance)

    assert not checks["item_history_times_are_inside_the_hour"].passed
    assert checks["item_history_times_are_inside_the_hour"].metadata["rows_outside"].value.startswith(f"{moved} ")


def test_the_one_hour_check_fails_on_an_id_stored_under_two_hours(stored_hours: Warehouse, instance) -> None:
    copied = live_id_in(HOURS[1])
    stored_hours.execute(
        "INSERT INTO HACKER_NEWS.ITEM_HISTORY SELECT * REPLACE (created_at + INTERVAL 1 HOUR AS created_at) "
        f"FROM HACKER_NEWS.ITEM_HISTORY WHERE id = {copied}"
    )

    in_its_hour, in_the_next = run_checks(HOURS[1], instance), run_checks(HOURS[2], instance)

    for checks in (in_its_hour, in_the_next):
        assert not checks["item_history_ids_are_in_one_hour"].passed
        assert checks["item_history_ids_are_in_one_hour"].metadata["repeated_ids"].value.startswith(f"{copied} (")
    assert not in_the_next["item_history_stores_its_id_window"].passed, "the copy is outside the next hour's window"
    assert not in_the_next["item_history_times_are_inside_the_hour"].passed

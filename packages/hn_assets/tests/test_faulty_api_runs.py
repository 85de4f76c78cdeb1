"""Whole runs against a hostile HN API: a fetch that cannot be trusted fails before anything is written, and bad
answers within the allowance are reported by id while the good rows are stored."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hn_assets.definitions import defs
from hn_offline_api.fixtures import generate_items
from hn_offline_api.server import Faults, OfflineHNAPI, serve_in_thread
from hn_testing.hn_api import RunningHNAPI

TABLES = ("ITEMS", "COMMENTS", "STORIES")


def run(count: int, **config: object) -> dg.ExecuteInProcessResult:
    return (
        defs()
        .resolve_job_def("refresh_hacker_news")
        .execute_in_process(
            run_config={"ops": {"items": {"config": {"base_item_id": count, **config}}}}, raise_on_error=False
        )
    )


def failure_description(result: dg.ExecuteInProcessResult) -> str:
    failure = result.get_step_failure_events()[0].event_specific_data
    return failure.user_failure_data.description if failure.user_failure_data else failure.error.message


@pytest.fixture(params=["local", "production"])
def tables(request: pytest.FixtureRequest, use_environment, tmp_path: Path, hn_api_server: RunningHNAPI):
    """Switches to the environment and returns a reader of its three tables, as bytes."""
    if request.param == "local":
        path = tmp_path / "faults.duckdb"
        use_environment("local", HN_DUCKDB_PATH=str(path), HN_API_BASE_URL=hn_api_server.base_url)

        def read() -> dict[str, bytes]:
            with duckdb.connect(str(path), read_only=True) as connection:
                return {
                    t: connection.sql(f"SELECT * FROM HACKER_NEWS.{t} ORDER BY id").df().to_csv().encode()
                    for t in TABLES
                }

        return read
    emulator = request.getfixturevalue("snowflake_emulator")
    use_environment("production", HN_API_BASE_URL=hn_api_server.base_url)
    return lambda: {
        t: emulator.read_table(f"PRODUCTION.HACKER_NEWS.{t}").sort_values("ID").to_csv().encode() for t in TABLES
    }


def test_an_api_answering_null_for_every_id_fails_the_run_and_keeps_the_tables(
    tables, hn_api_server: RunningHNAPI
) -> None:
    assert run(60).success
    before = tables()
    hn_api_server.api.faults = Faults(null_share=1.0)

    result = run(60)

    assert not result.success
    assert "Nothing was written" in failure_description(result)
    assert "60 of 60 items were null" in failure_description(result)
    assert tables() == before
    failure = result.get_step_failure_events()[0].event_specific_data.user_failure_data
    assert failure.metadata["hn_api_url"].value == hn_api_server.base_url, "the failure names the API it fetched from"


def test_malformed_answers_are_reported_by_id_and_the_good_rows_stored(tables, hn_api_server: RunningHNAPI) -> None:
    newest = max(hn_api_server.items)
    bad = {
        newest: json.dumps({"id": newest - 1, "type": "comment"}).encode(),
        newest - 2: json.dumps({"id": newest - 2, "type": "story", "score": "12"}).encode(),
        newest - 3: b'{"id": %d, "type": "comment", "text": "bad \\ud800"}' % (newest - 3),
    }
    hn_api_server.api.faults = Faults(bodies=bad, redirect_ids=frozenset({newest - 4}))

    result = run(30, max_failed_items=4)

    assert result.success
    metadata = result.asset_materializations_for_node("items")[0].metadata
    assert metadata["failed_ids"].value == ", ".join(str(i) for i in sorted([*bad, newest - 4]))
    assert metadata["duplicate_answer_ids"].value == str(newest)
    stored = {int(line.split(b",")[1]) for line in tables()["ITEMS"].splitlines()[1:]}
    served = {
        i
        for i in range(newest - 29, newest + 1)
        if hn_api_server.items[i] and not hn_api_server.items[i].get("deleted")
    }
    assert stored == served - {*bad, newest - 4}


def test_a_dead_api_fails_a_1000_item_run_within_30_seconds(use_environment, tmp_path: Path) -> None:
    api = OfflineHNAPI(generate_items(1_200), faults=Faults(hang_all=True, hang_seconds=120))
    with serve_in_thread(api) as base_url:
        use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "dead.duckdb"), HN_API_BASE_URL=base_url)
        started = time.monotonic()

        result = run(1_000)

        elapsed = time.monotonic() - started
    assert not result.success
    assert elapsed < 30
    description = failure_description(result)
    assert "1000 of 1000 items failed" in description
    assert "201, 202, 203" in description
    assert "(+950 more)" in description
    assert "the HN API looks down" in description

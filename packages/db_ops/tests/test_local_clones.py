"""Clones on a laptop: ``clone_prod`` and ``drop_prod_clone`` on DuckDB files beside the local warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from db_ops.definitions import defs
from hn_core.warehouse.clone_record import read_clone_record
from hn_core.warehouse.query import DuckDBWarehouseQuery

TABLES = {"items": 5, "comments": 3}


def run(job_name: str, pr_id: str, **extra: str) -> dg.ExecuteInProcessResult:
    op = {"clone_prod": "clone_production_database", "drop_prod_clone": "drop_database_clone"}[job_name]
    return (
        defs()
        .resolve_job_def(job_name)
        .execute_in_process(run_config={"ops": {op: {"config": {"pr_id": pr_id, **extra}}}}, raise_on_error=False)
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    event = result.get_step_failure_events()[0].event_specific_data
    return event.user_failure_data.description if event.user_failure_data else event.error.message


def contents(path: Path, schema: str) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            table: connection.execute(f'SELECT * FROM {schema}."{table}" ORDER BY id').fetchall() for table in TABLES
        }


@pytest.fixture
def warehouse(tmp_path: Path, use_environment) -> Path:
    path = tmp_path / "local_warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA HACKER_NEWS")
        for table, rows in TABLES.items():
            connection.execute(f'CREATE TABLE HACKER_NEWS."{table}" AS SELECT range AS id FROM range({rows})')
    use_environment("local", HN_DUCKDB_PATH=str(path))
    return path


def test_a_local_clone_copies_the_warehouse_and_keeps_a_base_schema(warehouse: Path) -> None:
    before = datetime.now(UTC)

    result = run("clone_prod", "7", commit="0123abc")

    assert result.success, failure(result)
    clone = warehouse.parent / "PRODUCTION_CLONE_7.duckdb"
    production = contents(warehouse, "HACKER_NEWS")
    assert contents(clone, "HACKER_NEWS") == production
    assert contents(clone, "HACKER_NEWS_BASE") == production
    record = read_clone_record(DuckDBWarehouseQuery(database=str(clone), schema_name="HACKER_NEWS"))
    assert (record.pull_request_id, record.commit) == (7, "0123abc")
    assert before - timedelta(seconds=1) <= record.cloned_at <= datetime.now(UTC)
    metadata = result.output_for_node("clone_production_database")
    assert metadata == "PRODUCTION_CLONE_7"
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["PRODUCTION_CLONE_7.duckdb", "local_warehouse.duckdb"]


def test_a_second_clone_is_fresh_and_drop_removes_it_once(warehouse: Path) -> None:
    assert run("clone_prod", "7").success
    clone = warehouse.parent / "PRODUCTION_CLONE_7.duckdb"
    with duckdb.connect(str(clone)) as connection:
        connection.execute('DELETE FROM HACKER_NEWS."items"')

    assert run("clone_prod", "7").success
    assert contents(clone, "HACKER_NEWS") == contents(warehouse, "HACKER_NEWS")
    assert run("drop_prod_clone", "7").success
    assert not clone.exists()
    assert run("drop_prod_clone", "7").success, "a second drop is harmless"
    assert warehouse.exists()


def test_a_failed_clone_leaves_the_previous_one(warehouse: Path) -> None:
    assert run("clone_prod", "7").success
    before = contents(warehouse.parent / "PRODUCTION_CLONE_7.duckdb", "HACKER_NEWS")
    (warehouse.parent / "PRODUCTION_CLONE_7.cloning.duckdb").mkdir()  # the copy cannot be made

    assert not run("clone_prod", "7").success
    assert contents(warehouse.parent / "PRODUCTION_CLONE_7.duckdb", "HACKER_NEWS") == before


def test_a_clone_of_a_clone_takes_its_tables_as_the_new_base(warehouse: Path, use_environment) -> None:
    assert run("clone_prod", "7").success
    first = warehouse.parent / "PRODUCTION_CLONE_7.duckdb"
    with duckdb.connect(str(first)) as connection:
        connection.execute('DELETE FROM HACKER_NEWS."items" WHERE id < 2')  # the branch's change
    use_environment("local", HN_DUCKDB_PATH=str(first))

    assert run("clone_prod", "8").success
    second = warehouse.parent / "PRODUCTION_CLONE_8.duckdb"
    assert contents(second, "HACKER_NEWS_BASE") == contents(first, "HACKER_NEWS")
    assert not list(warehouse.parent.glob("*.cloning.duckdb*")), "nothing left of the copy in progress"


@pytest.mark.parametrize("pr_id", ["0", "7; DROP", "../../etc", "-1"])
def test_a_name_that_is_not_a_clone_is_refused_before_any_file_is_touched(warehouse: Path, pr_id: str) -> None:
    for job_name in ("clone_prod", "drop_prod_clone"):
        result = run(job_name, pr_id)

        assert not result.success
        assert f"Invalid pull request id {pr_id!r}" in failure(result)
    assert [p.name for p in warehouse.parent.iterdir()] == ["local_warehouse.duckdb"]


def test_cloning_without_a_local_warehouse_says_how_to_make_one(tmp_path: Path, use_environment) -> None:
    use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "missing.duckdb"))

    message = failure(run("clone_prod", "7"))

    assert f"There is no local warehouse to clone at {tmp_path / 'missing.duckdb'}" in message
    assert "hn-quickstart" in message

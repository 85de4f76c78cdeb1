"""Clone, drop and sweep on the Snowflake emulator, through the location's own definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from db_ops.definitions import defs

PRODUCTION_ROWS = pd.DataFrame({"ID": [1, 2, 3], "TYPE": ["story", "comment", "job"]})


@pytest.fixture
def production(snowflake_emulator):
    """PRODUCTION with two schemas, so that a clone must copy more than the one the pipeline uses."""
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INTEGER, TYPE VARCHAR)")
    snowflake_emulator.execute(
        "INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS VALUES (1, 'story'), (2, 'comment'), (3, 'job')"
    )
    snowflake_emulator.execute("CREATE SCHEMA PRODUCTION.AUDIT")
    snowflake_emulator.execute("CREATE TABLE PRODUCTION.AUDIT.LOADS (N INTEGER)")
    return snowflake_emulator


def run(job_name: str, op_config: dict | None = None) -> dg.ExecuteInProcessResult:
    job = defs().resolve_job_def(job_name)
    op = job.graph.node_defs[0].name
    return job.execute_in_process(run_config={"ops": {op: {"config": op_config or {}}}})


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {key: value.value for key, value in event.step_output_data.metadata.items()}


def test_clone_copies_every_schema_and_table(production, use_environment) -> None:
    use_environment("branch", 42)

    result = run("clone_prod")

    assert result.output_for_node("clone_production_database") == "PRODUCTION_CLONE_42"
    assert production.tables("PRODUCTION_CLONE_42") == {"HACKER_NEWS.ITEMS", "AUDIT.LOADS"}
    assert_frame_equal(production.read_table("PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)
    metadata = output_metadata(result)
    assert (metadata["database"], metadata["source"], metadata["table_count"]) == (
        "PRODUCTION_CLONE_42",
        "PRODUCTION",
        2,
    )
    assert "HACKER_NEWS.ITEMS`: 3 rows" in metadata["tables"]


def test_production_can_clone_and_drop_for_a_given_pull_request(production, use_environment) -> None:
    use_environment("production")

    run("clone_prod", {"pr_id": "7"})
    assert "PRODUCTION_CLONE_7" in production.databases()
    run("drop_prod_clone", {"pr_id": "7"})

    assert "PRODUCTION_CLONE_7" not in production.databases()
    assert_frame_equal(production.read_table("PRODUCTION.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)


def test_dropping_a_missing_clone_is_not_an_error(production, use_environment) -> None:
    use_environment("branch", 5)

    assert run("drop_prod_clone").success
    assert "PRODUCTION" in production.databases()


def test_sweeper_drops_only_old_clones(production, use_environment) -> None:
    use_environment("production")
    now = datetime.now(UTC)
    old, young = now - timedelta(days=30), now - timedelta(days=2)
    for name in ("PRODUCTION_CLONE_1", "PRODUCTION_CLONE_2", "PRODUCTIONXCLONEX3", "PRODUCTION_CLONE_OLD", "ANALYTICS"):
        production.create_database(name)
    for name in (
        "PRODUCTION_CLONE_1",
        "PRODUCTIONXCLONEX3",
        "PRODUCTION_CLONE_OLD",
        "ANALYTICS",
        "PRODUCTION",
        "STAGING",
    ):
        production.set_database_created_on(name, old)
    production.set_database_created_on("PRODUCTION_CLONE_2", young)
    everything = production.databases()

    dry = run("sweep_stale_clones", {"max_age_days": 7, "dry_run": True})

    assert production.databases() == everything
    assert output_metadata(dry)["stale"] == "PRODUCTION_CLONE_1"
    assert dry.output_for_node("drop_stale_clones") == []

    swept = run("sweep_stale_clones", {"max_age_days": 7})

    assert swept.output_for_node("drop_stale_clones") == ["PRODUCTION_CLONE_1"]
    assert production.databases() == everything - {"PRODUCTION_CLONE_1"}
    assert output_metadata(swept)["kept"] == "PRODUCTION_CLONE_2"
    assert_frame_equal(production.read_table("PRODUCTION.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)


def test_sweep_schedule_runs_daily_in_production(use_environment) -> None:
    use_environment("production")

    schedule = defs().resolve_schedule_def("sweep_stale_clones_daily")

    assert (schedule.cron_schedule, schedule.default_status) == ("0 4 * * *", dg.DefaultScheduleStatus.RUNNING)

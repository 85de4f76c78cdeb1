"""``wait_for_clone``: a branch waits, in its own warehouse, for a clone made for its commit (a local DuckDB clone made
by db_ops' own ``DuckDBClones`` here; the record is the same table in Snowflake)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from db_ops.local_clones import DuckDBClones
from hn_assets.definitions import location_definitions
from hn_core.deployment.environment import resolve_target

HEAD = "0123456789abcdef0123456789abcdef01234567"
OLDER = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def warehouse(tmp_path: Path, use_environment) -> Path:
    """A local production warehouse; the laptop's environment points at its clone for pull request 1."""
    production = tmp_path / "local_warehouse.duckdb"
    with duckdb.connect(str(production)) as connection:
        connection.execute("CREATE SCHEMA HACKER_NEWS")
        connection.execute("CREATE TABLE HACKER_NEWS.items AS SELECT range AS id FROM range(3)")
    use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "PRODUCTION_CLONE_1.duckdb"))
    return production


def clone(production: Path, commit: str | None) -> None:
    DuckDBClones(warehouse=str(production)).clone("PRODUCTION_CLONE_1", 1, commit)


def wait(commit: str = "", timeout: float = 5, **tags: str) -> dg.ExecuteInProcessResult:
    job = location_definitions(resolve_target(os.environ), os.environ).resolve_job_def("wait_for_clone")
    config = {"commit": commit, "timeout_seconds": timeout, "poll_seconds": 0.1}
    return job.execute_in_process(run_config={"ops": {"clone_for_commit": {"config": config}}}, raise_on_error=False)


def failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = result.get_step_failure_events()
    data = event.event_specific_data
    return data.user_failure_data.description if data.user_failure_data else data.error.message


def test_a_clone_made_for_the_commit_ends_the_wait_at_once(warehouse: Path) -> None:
    clone(warehouse, HEAD)
    started = time.monotonic()

    result = wait(HEAD)

    assert result.success
    assert time.monotonic() - started < 5
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.step_output_data.metadata
    assert (metadata["clone_commit"].value, metadata["clone_pull_request"].value) == (HEAD, 1)


def test_the_wait_lasts_until_a_clone_for_the_commit_is_made(warehouse: Path) -> None:
    clone(warehouse, OLDER)  # the previous push's clone
    threading.Timer(3, clone, (warehouse, HEAD)).start()  # well after the run has started

    started = time.monotonic()

    result = wait(HEAD[:12], timeout=20)

    assert result.success, failure(result)
    assert time.monotonic() - started >= 3, "it waited for the clone of its commit"
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert output.step_output_data.metadata["clone_commit"].value == HEAD


@pytest.mark.parametrize(
    ("made", "said"),
    [
        (OLDER, f"the clone was made for commit {OLDER} at"),
        (None, "the clone was made for commit (none recorded)"),
        ("no clone", "there is no clone to read yet (WarehouseUnavailableError: Cannot open the local warehouse"),
    ],
)
def test_no_clone_for_the_commit_fails_after_the_timeout_saying_what_there_is(
    warehouse: Path, made: str | None, said: str
) -> None:
    if made != "no clone":
        clone(warehouse, made)

    message = failure(wait(HEAD, timeout=0.5))

    assert message.startswith(f"No clone made for commit {HEAD} after 0.5 s: {said}")
    assert "Production's sensor pull_request_clones clones each open pull request's head commit" in message
    first_deploy = "production may not run db_ops: deploy the default branch first"
    assert (first_deploy in message) == (made == "no clone"), "only where there is no clone at all"


def test_a_clone_of_a_newer_push_made_during_the_wait_ends_it_at_once(warehouse: Path) -> None:
    clone(warehouse, HEAD)  # the previous push's clone
    threading.Timer(2, clone, (warehouse, OLDER)).start()  # the pull request moves on while this run waits
    started = time.monotonic()

    message = failure(wait(HEAD[:7] + "0" * 33, timeout=60))

    assert time.monotonic() - started < 30, "it did not wait out its timeout"
    assert f"the clone was made for commit {OLDER} at" in message
    assert "after this wait began, so the pull request has moved on to that commit" in message


def test_the_commit_defaults_to_the_one_dagster_plus_deployed_and_is_validated(warehouse: Path, monkeypatch) -> None:
    clone(warehouse, HEAD)
    monkeypatch.setenv("DAGSTER_CLOUD_GIT_SHA", HEAD)
    assert wait().success

    monkeypatch.delenv("DAGSTER_CLOUD_GIT_SHA")
    assert "No commit to wait for: set op config commit" in failure(wait())
    assert "Invalid commit 'main'" in failure(wait("main"))


def test_only_a_warehouse_that_is_a_clone_has_the_job(tmp_path: Path, use_environment) -> None:
    use_environment("local", HN_DUCKDB_PATH=str(tmp_path / "local_warehouse.duckdb"))
    definitions = location_definitions(resolve_target(os.environ), os.environ)
    assert "wait_for_clone" not in {job.name for job in definitions.resolve_all_job_defs()}

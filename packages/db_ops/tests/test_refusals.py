"""Every bad PR id or database name is refused before any SQL runs."""

from __future__ import annotations

from contextlib import contextmanager

import dagster as dg
import pytest

from db_ops import clone_prod, drop_prod_clone, sweep_stale_clones
from db_ops.definitions import defs
from db_ops.sql import clone_statement, drop_statement
from db_ops.sweeper import SweepConfig
from hn_core.names import InvalidNameError


class NoSqlAllowed(dg.ConfigurableResource):
    """A Snowflake stand-in that fails the test if anything tries to connect, i.e. to run SQL."""

    @contextmanager
    def get_connection(self):
        raise AssertionError("SQL was about to run")
        yield


def run(job: dg.JobDefinition, pr_id: str | None) -> dg.ExecuteInProcessResult:
    op = job.graph.node_defs[0].name
    config = {} if pr_id is None else {"pr_id": pr_id}
    return job.execute_in_process(
        run_config={"ops": {op: {"config": config}}}, resources={"snowflake": NoSqlAllowed()}, raise_on_error=False
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.error.message


@pytest.mark.parametrize("job", [clone_prod, drop_prod_clone])
@pytest.mark.parametrize(
    ("pr_id", "message"),
    [
        (None, "No pull request id: set op config pr_id"),
        ("abc", "Invalid pull request id 'abc'"),
        ("42; DROP DATABASE PRODUCTION", "Invalid pull request id '42; DROP DATABASE PRODUCTION'"),
        ("-42", "Invalid pull request id '-42'"),
        ("0", "Invalid pull request id '0'"),
    ],
)
def test_bad_pull_request_ids_are_refused_before_sql(
    job: dg.JobDefinition, pr_id: str | None, message: str, use_environment
) -> None:
    use_environment("production")

    assert message in failure_message(run(job, pr_id))


@pytest.mark.parametrize("job", [clone_prod, drop_prod_clone])
def test_a_branch_deployment_acts_only_on_its_own_clone(job: dg.JobDefinition, use_environment) -> None:
    use_environment("branch", 42)

    assert "belongs to pull request 42; it may not act on the clone of pull request 7" in failure_message(run(job, "7"))


@pytest.mark.parametrize(
    "name", ["PRODUCTION", "STAGING", 'PRODUCTION_CLONE_1"', "PRODUCTION_CLONE_1 CASCADE", "PRODUCTION CLONE 1"]
)
def test_statements_refuse_anything_but_a_clone_name(name: str) -> None:
    with pytest.raises(InvalidNameError, match="only clones named PRODUCTION_CLONE_<pull request number>"):
        drop_statement(name)
    with pytest.raises(InvalidNameError):
        clone_statement(name)


def test_local_duckdb_runs_stop_at_once_naming_the_opt_in(use_environment) -> None:
    use_environment("local")

    for job_name in ("clone_prod", "drop_prod_clone"):
        result = (
            defs()
            .resolve_job_def(job_name)
            .execute_in_process(
                run_config={"ops": {"clone_production_database": {"config": {"pr_id": "1"}}}}
                if job_name == "clone_prod"
                else None,
                raise_on_error=False,
            )
        )
        assert not result.success
        assert "HN_LOCAL_WAREHOUSE=snowflake" in str(result.all_events)


@pytest.mark.parametrize(("environment", "pull_request_id"), [("staging", None), ("branch", 42), ("local", None)])
def test_the_sweeper_runs_only_in_production(environment: str, pull_request_id: int | None, use_environment) -> None:
    use_environment(environment, pull_request_id)

    assert "sweep_stale_clones" not in {job.name for job in defs().jobs}
    result = sweep_stale_clones.execute_in_process(resources={"snowflake": NoSqlAllowed()}, raise_on_error=False)
    assert f"The sweeper runs only in production, not in {environment}" in failure_message(result)


@pytest.mark.parametrize("days", [0, 0.5, -1])
def test_the_sweeper_keeps_anything_younger_than_a_day(days: float) -> None:
    with pytest.raises(Exception, match="greater than or equal to 1"):
        SweepConfig(max_age_days=days)


@pytest.mark.parametrize("days", [float("inf"), 3650.5, 1e9])
def test_the_sweeper_s_age_is_at_most_ten_years(days: float) -> None:
    with pytest.raises(Exception, match="less than or equal to 3650"):
        SweepConfig(max_age_days=days)

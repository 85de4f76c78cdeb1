"""Every bad PR id, database name or placement is refused before any SQL runs.

``RecordingSnowflake`` stands in for the ``snowflake`` resource and records every connection and statement: a
refusal "before any SQL" means it recorded nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg
import pytest

from db_ops import clone_prod, drop_prod_clone, sweep_stale_clones
from db_ops.definitions import defs
from db_ops.resources import BranchRole
from db_ops.sql import clone_statement, drop_statement, handover_statements
from db_ops.sweeper import SweepConfig
from hn_core.deployment.environment import ConfigurationError
from hn_core.deployment.names import InvalidNameError
from hn_testing.environments import local_snowflake_variables


@dataclass
class StatementLog:
    connections: int = 0
    statements: list[str] = field(default_factory=list)


class RecordingCursor:
    """Records statements; ``SHOW SCHEMAS`` answers one schema, HACKER_NEWS, as a fresh clone of production has."""

    description = (("name",),)

    def __init__(self, log: StatementLog) -> None:
        self.log = log

    def execute(self, sql: str, *args: object) -> RecordingCursor:
        self.log.statements.append(sql)
        return self

    def fetchone(self) -> tuple[str]:
        return ("recorded",)

    def fetchall(self) -> list:
        return [("HACKER_NEWS",)] if self.log.statements[-1].startswith("SHOW SCHEMAS") else []


RECORDED = StatementLog()


class RecordingSnowflake(dg.ConfigurableResource):
    """A Snowflake stand-in that records every connection and statement (in ``RECORDED``) instead of running them."""

    @contextmanager
    def get_connection(self):
        RECORDED.connections += 1

        class Connection:
            def cursor(self) -> RecordingCursor:
                return RecordingCursor(RECORDED)

        yield Connection()


@pytest.fixture
def sql_log() -> StatementLog:
    RECORDED.connections = 0
    RECORDED.statements.clear()
    return RECORDED


def run(
    job: dg.JobDefinition, pr_id: str | None, tags: dict[str, str] | None = None, **extra: str
) -> dg.ExecuteInProcessResult:
    op = job.graph.node_defs[0].name
    config = ({} if pr_id is None else {"pr_id": pr_id}) | extra
    resources = {
        "snowflake": RecordingSnowflake(),
        "branch_role": BranchRole(name="HN_BRANCH"),
        "local_clones": RecordingSnowflake(),  # any use of it would be recorded too
        "code_host": RecordingSnowflake(),
    }
    return job.execute_in_process(
        run_config={"ops": {op: {"config": config}}}, resources=resources, raise_on_error=False, tags=tags
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The error of the failed step, or of the resources that failed to start."""
    assert not result.success
    errors = [getattr(event.event_specific_data, "error", None) for event in result.all_events]
    return "\n".join(error.message for error in errors if error is not None)


@pytest.mark.parametrize("job", [clone_prod, drop_prod_clone])
@pytest.mark.parametrize(
    ("pr_id", "message"),
    [
        ("", "Invalid pull request id ''"),
        ("abc", "Invalid pull request id 'abc'"),
        ("42; DROP DATABASE PRODUCTION", "Invalid pull request id '42; DROP DATABASE PRODUCTION'"),
        ("-42", "Invalid pull request id '-42'"),
        ("0", "Invalid pull request id '0'"),
    ],
)
def test_bad_pull_request_ids_are_refused_before_sql(
    job: dg.JobDefinition, pr_id: str | None, message: str, use_environment, sql_log: StatementLog
) -> None:
    use_environment("production")
    result = run(job, pr_id)

    assert message in failure_message(result)
    assert [event.event_specific_data.error.stack for event in result.get_step_failure_events()] == [[]]
    assert sql_log == StatementLog()


def test_the_clone_records_its_commit_only_once_handed_over(use_environment, sql_log: StatementLog) -> None:
    """A clone whose hand-over failed must not name a commit: the sensor would take it for ready."""
    use_environment("production")

    assert run(clone_prod, "7", commit="abcdef0").success
    insert = next(i for i, sql in enumerate(sql_log.statements) if sql.startswith("INSERT INTO"))
    last_grant = max(i for i, sql in enumerate(sql_log.statements) if sql.startswith("GRANT OWNERSHIP"))
    assert insert > last_grant


@pytest.mark.parametrize("commit", ["abc", "0123456789abcdefg", "main; DROP DATABASE PRODUCTION", "HEAD"])
def test_a_commit_that_is_not_a_commit_hash_is_refused_before_sql(
    commit: str, use_environment, sql_log: StatementLog
) -> None:
    use_environment("production")

    from_config = failure_message(run(clone_prod, "7", commit=commit))
    from_tag = failure_message(run(clone_prod, "7", tags={"gitlab/sha": commit}))

    assert f"Invalid commit {commit!r}: it must be a Git commit hash of 7 to 64 hexadecimal digits" in from_tag
    message = from_config
    assert f"Invalid commit {commit!r}: it must be a Git commit hash of 7 to 64 hexadecimal digits" in message
    assert sql_log == StatementLog()


def test_production_runs_the_clone_and_its_hand_over(use_environment, sql_log: StatementLog) -> None:
    """The control for the refusals below: the same stand-in records what production runs."""
    use_environment("production")

    assert run(clone_prod, "7").success
    assert sql_log.statements[:7] == [
        "CREATE OR REPLACE DATABASE PRODUCTION_CLONE_7 CLONE PRODUCTION",
        "SHOW SCHEMAS IN DATABASE PRODUCTION_CLONE_7",
        "CREATE OR REPLACE SCHEMA PRODUCTION_CLONE_7.HACKER_NEWS_BASE CLONE PRODUCTION_CLONE_7.HACKER_NEWS",
        "CREATE OR REPLACE TABLE PRODUCTION_CLONE_7.HACKER_NEWS_BASE.CLONE_RECORD "
        "(PULL_REQUEST NUMBER(18, 0), COMMIT_SHA VARCHAR, CLONED_AT TIMESTAMP_TZ)",
        "SHOW SCHEMAS IN DATABASE PRODUCTION_CLONE_7",
        "USE SECONDARY ROLES HN_BRANCH",
        "GRANT OWNERSHIP ON ALL TABLES IN SCHEMA PRODUCTION_CLONE_7.HACKER_NEWS TO ROLE HN_BRANCH COPY CURRENT GRANTS",
    ]


@pytest.mark.parametrize(
    ("environment", "pull_request_id", "extra"),
    [
        ("branch", 7, {}),
        ("staging", None, {}),
        ("local", None, local_snowflake_variables("ALICE", "ALICE")),
    ],
)
def test_clone_runs_only_in_production(
    environment: str, pull_request_id: int | None, extra: dict, use_environment, sql_log: StatementLog
) -> None:
    use_environment(environment, pull_request_id, **extra)

    message = failure_message(run(clone_prod, "7"))

    assert "clone_prod runs only in production, not here" in message
    assert '{"ops": {"clone_production_database": {"config": {"pr_id": "7"}}}}' in message
    assert sql_log == StatementLog()


@pytest.mark.parametrize(
    ("environment", "extra"), [("staging", {}), ("local", local_snowflake_variables("ALICE", "ALICE"))]
)
def test_drop_never_runs_in_staging_or_on_a_laptop_on_snowflake(
    environment: str, extra: dict, use_environment, sql_log: StatementLog
) -> None:
    use_environment(environment, **extra)

    message = failure_message(run(drop_prod_clone, "7"))

    assert "drop_prod_clone runs in production (or in the pull request's own branch deployment), not here" in message
    assert '{"ops": {"drop_database_clone": {"config": {"pr_id": "7"}}}}' in message
    assert sql_log == StatementLog()


def test_a_branch_deployment_drops_only_its_own_clone(use_environment, sql_log: StatementLog) -> None:
    use_environment("branch", 42)

    assert "belongs to pull request 42; it may not act on the clone of pull request 7" in failure_message(
        run(drop_prod_clone, "7")
    )
    assert sql_log == StatementLog()
    assert run(drop_prod_clone, "42").success
    assert sql_log.statements == ["DROP DATABASE IF EXISTS PRODUCTION_CLONE_42"]


@pytest.mark.parametrize(
    ("environment", "extra"), [("staging", {}), ("local", local_snowflake_variables("ALICE", "ALICE"))]
)
def test_staging_and_local_snowflake_definitions_bind_no_snowflake_to_db_ops(
    environment: str, extra: dict, use_environment
) -> None:
    """There, db_ops binds no resource at all (no credentials, no stand-in) and any of its runs fails with one
    message, naming production (a laptop on DuckDB clones DuckDB files instead: ``test_local_clones.py``)."""
    use_environment(environment, **extra)
    definitions = defs()

    for job_name, op in (("clone_prod", "clone_production_database"), ("drop_prod_clone", "drop_database_clone")):
        result = definitions.resolve_job_def(job_name).execute_in_process(
            run_config={"ops": {op: {"config": {"pr_id": "1"}}}}, raise_on_error=False
        )
        (failure,) = [event.event_specific_data for event in result.get_step_failure_events()]
        assert failure.error.message.startswith(f"{job_name} runs")
        assert "not here" in failure.error.message
        assert "RESOURCE_INIT_FAILURE" not in {event.event_type_value for event in result.all_events}
    assert definitions.resources == {}


def test_production_db_ops_lists_every_missing_code_host_setting(use_environment, monkeypatch) -> None:
    use_environment("production", HN_CODE_HOST="bitbucket")
    monkeypatch.delenv("HN_CODE_HOST_TOKEN")
    monkeypatch.delenv("SYSTEM_SNOWFLAKE_WAREHOUSE")

    with pytest.raises(ConfigurationError) as raised:
        defs()

    assert "SYSTEM_SNOWFLAKE_WAREHOUSE" in str(raised.value)
    assert (
        "Also missing for the code host: HN_CODE_HOST_TOKEN, HN_CODE_HOST (is 'bitbucket': use github or gitlab)."
        in str(raised.value)
    )


def test_production_db_ops_needs_the_branch_role(use_environment, monkeypatch) -> None:
    use_environment("production")
    monkeypatch.delenv("SYSTEM_SNOWFLAKE_BRANCH_ROLE")
    monkeypatch.delenv("SYSTEM_SNOWFLAKE_WAREHOUSE")

    with pytest.raises(ConfigurationError, match="SYSTEM_SNOWFLAKE_WAREHOUSE, SYSTEM_SNOWFLAKE_BRANCH_ROLE"):
        defs()


@pytest.mark.parametrize(("role", "message"), [("HN_PRODUCTION", "both HN_PRODUCTION"), ("hn branch", "Invalid")])
def test_production_refuses_a_branch_role_that_is_its_own_or_no_name(role: str, message: str, use_environment) -> None:
    use_environment("production", SYSTEM_SNOWFLAKE_BRANCH_ROLE=role)

    with pytest.raises(ConfigurationError, match=message):
        defs()


@pytest.mark.parametrize(
    "name", ["PRODUCTION", "STAGING", 'PRODUCTION_CLONE_1"', "PRODUCTION_CLONE_1 CASCADE", "PRODUCTION CLONE 1"]
)
def test_statements_refuse_anything_but_a_clone_name(name: str) -> None:
    with pytest.raises(InvalidNameError, match="only clones named PRODUCTION_CLONE_<pull request number>"):
        drop_statement(name)
    with pytest.raises(InvalidNameError):
        clone_statement(name)
    with pytest.raises(InvalidNameError):
        handover_statements(name, "HN_BRANCH")


def test_the_hand_over_quotes_any_schema_production_made_and_keeps_the_base() -> None:
    statements = handover_statements(
        "PRODUCTION_CLONE_1",
        "HN_BRANCH",
        ["HACKER_NEWS", "scratch", 'we"ird', "HACKER_NEWS_BASE", "INFORMATION_SCHEMA"],
    )

    owned = [s.split(" IN SCHEMA ")[-1].split(" TO ")[0] for s in statements if " IN SCHEMA " in s and "OWNER" in s]
    assert owned == [
        "PRODUCTION_CLONE_1.HACKER_NEWS",
        "PRODUCTION_CLONE_1.HACKER_NEWS",
        'PRODUCTION_CLONE_1."scratch"',
        'PRODUCTION_CLONE_1."scratch"',
        'PRODUCTION_CLONE_1."we""ird"',
        'PRODUCTION_CLONE_1."we""ird"',
    ]
    assert statements[-3:] == [
        "GRANT USAGE ON SCHEMA PRODUCTION_CLONE_1.HACKER_NEWS_BASE TO ROLE HN_BRANCH",
        "GRANT SELECT ON ALL TABLES IN SCHEMA PRODUCTION_CLONE_1.HACKER_NEWS_BASE TO ROLE HN_BRANCH",
        "USE SECONDARY ROLES NONE",
    ]


@pytest.mark.parametrize("role", ["hn_branch", "HN_BRANCH COPY", "HN_BRANCH; DROP DATABASE PRODUCTION", ""])
def test_the_hand_over_refuses_anything_but_a_role_name(role: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid branch role"):
        handover_statements("PRODUCTION_CLONE_1", role)


@pytest.mark.parametrize(("environment", "pull_request_id"), [("staging", None), ("branch", 42), ("local", None)])
def test_the_sweeper_runs_only_in_production(
    environment: str, pull_request_id: int | None, use_environment, sql_log: StatementLog
) -> None:
    use_environment(environment, pull_request_id)

    assert "sweep_stale_clones" not in {job.name for job in defs().jobs}
    result = sweep_stale_clones.execute_in_process(
        resources={"snowflake": RecordingSnowflake(), "code_host": RecordingSnowflake()}, raise_on_error=False
    )
    assert "sweep_stale_clones runs only in production, not here" in failure_message(result)
    assert sql_log == StatementLog()


@pytest.mark.parametrize("days", [0, 0.5, -1])
def test_the_sweeper_keeps_anything_younger_than_a_day(days: float) -> None:
    with pytest.raises(Exception, match="greater than or equal to 1"):
        SweepConfig(max_age_days=days)


@pytest.mark.parametrize("days", [float("inf"), 3650.5, 1e9])
def test_the_sweeper_s_age_is_at_most_ten_years(days: float) -> None:
    with pytest.raises(Exception, match="less than or equal to 3650"):
        SweepConfig(max_age_days=days)

"""Clone, hand-over, drop and sweep on an emulator provisioned by deploy/snowflake/, through the location's definitions.

PRODUCTION's objects are created by production's own user, so they belong to ``HN_PRODUCTION`` as they do after a
production run; every statement of the jobs is held to the privileges of the deployment's role.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from snowflake.connector.errors import ProgrammingError

from db_ops.definitions import defs
from hn_testing._access_statements import Securable

PRODUCTION_ROWS = pd.DataFrame({"ID": [1, 2, 3], "TYPE": ["story", "comment", "job"]})
PRODUCTION_USER, BRANCH_USER = "HN_PRODUCTION_SVC", "HN_BRANCH_SVC"
CLONE_OBJECTS = [
    Securable("DATABASE", "PRODUCTION_CLONE_42"),
    Securable("SCHEMA", "PRODUCTION_CLONE_42.HACKER_NEWS"),
    Securable("SCHEMA", "PRODUCTION_CLONE_42.AUDIT"),
    Securable("TABLE", "PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS"),
    Securable("VIEW", "PRODUCTION_CLONE_42.HACKER_NEWS.STORIES"),
    Securable("TABLE", "PRODUCTION_CLONE_42.AUDIT.LOADS"),
]


@pytest.fixture
def production(provisioned_snowflake):
    """PRODUCTION as production's role made it: two schemas, a table, a view; an analyst may read ITEMS."""
    for sql in (
        "CREATE SCHEMA PRODUCTION.HACKER_NEWS",
        "CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INTEGER, TYPE VARCHAR)",
        "INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS VALUES (1, 'story'), (2, 'comment'), (3, 'job')",
        "CREATE VIEW PRODUCTION.HACKER_NEWS.STORIES AS SELECT * FROM PRODUCTION.HACKER_NEWS.ITEMS WHERE TYPE = 'story'",
        "CREATE SCHEMA PRODUCTION.AUDIT",
        "CREATE TABLE PRODUCTION.AUDIT.LOADS (N INTEGER)",
    ):
        provisioned_snowflake.execute(sql, user=PRODUCTION_USER)
    provisioned_snowflake.run_script(
        "USE ROLE USERADMIN; CREATE ROLE ANALYST; USE ROLE SECURITYADMIN;\n"
        "GRANT SELECT ON TABLE PRODUCTION.HACKER_NEWS.ITEMS TO ROLE ANALYST;"
    )
    return provisioned_snowflake


def run(job_name: str, op_config: dict | None = None, **kwargs) -> dg.ExecuteInProcessResult:
    job = defs().resolve_job_def(job_name)
    op = job.graph.node_defs[0].name
    return job.execute_in_process(run_config={"ops": {op: {"config": op_config or {}}}}, **kwargs)


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {key: value.value for key, value in event.step_output_data.metadata.items()}


def test_production_clones_and_hands_the_clone_to_the_branch_role(production, use_environment) -> None:
    use_environment("production")

    result = run("clone_prod", {"pr_id": "42"})

    assert result.output_for_node("clone_production_database") == "PRODUCTION_CLONE_42"
    assert production.tables("PRODUCTION_CLONE_42") == {
        "HACKER_NEWS.ITEMS",
        "AUDIT.LOADS",
        "HACKER_NEWS_BASE.ITEMS",
        "HACKER_NEWS_BASE.CLONE_RECORD",
    }
    assert_frame_equal(production.read_table("PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)
    assert {securable: production.access.owner(securable) for securable in CLONE_OBJECTS} == dict.fromkeys(
        CLONE_OBJECTS, "HN_BRANCH"
    )
    # COPY CURRENT GRANTS: what the clone copied from PRODUCTION (the analyst's SELECT) survives the hand-over.
    analyst = production.access.grants[Securable("TABLE", "PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS")]["ANALYST"]
    assert analyst == {"SELECT"}
    metadata = output_metadata(result)
    assert (metadata["database"], metadata["source"], metadata["owner"], metadata["table_count"]) == (
        "PRODUCTION_CLONE_42",
        "PRODUCTION",
        "HN_BRANCH",
        4,
    )
    assert "HACKER_NEWS.ITEMS`: 3 rows" in metadata["tables"]
    assert production.access.owner(Securable("TABLE", "PRODUCTION.HACKER_NEWS.ITEMS")) == "HN_PRODUCTION"


def test_the_clone_records_its_pull_request_and_commit_for_the_branch_to_read(production, use_environment) -> None:
    use_environment("production")
    before = datetime.now(UTC)

    # As CI launches it: the head commit in the tag github/sha, not in config (see db_ops.pull_request.COMMIT_TAGS).
    result = run("clone_prod", {"pr_id": "42"}, tags={"github/sha": "ABCDEF0123456789abcdef0123456789ABCDEF01"})

    ((pull_request, commit, cloned_at),) = production.execute(
        "SELECT PULL_REQUEST, COMMIT_SHA, CLONED_AT FROM PRODUCTION_CLONE_42.HACKER_NEWS_BASE.CLONE_RECORD",
        user=BRANCH_USER,
    )
    assert (int(pull_request), commit) == (42, "abcdef0123456789abcdef0123456789abcdef01")
    assert before - timedelta(seconds=1) <= cloned_at <= datetime.now(UTC)
    assert output_metadata(result)["commit"] == "abcdef0123456789abcdef0123456789abcdef01"
    assert production.access.owner(Securable("TABLE", "PRODUCTION_CLONE_42.HACKER_NEWS_BASE.CLONE_RECORD")) == (
        "HN_PRODUCTION"
    )
    with pytest.raises(ProgrammingError, match="Insufficient privileges to operate on table 'CLONE_RECORD'"):
        production.execute("DELETE FROM PRODUCTION_CLONE_42.HACKER_NEWS_BASE.CLONE_RECORD", user=BRANCH_USER)


def test_the_base_stays_production_s_and_the_branch_only_reads_it(production, use_environment) -> None:
    use_environment("production")
    run("clone_prod", {"pr_id": "42"})
    base = "PRODUCTION_CLONE_42.HACKER_NEWS_BASE"
    production.execute("DELETE FROM PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS", user=BRANCH_USER)  # the branch's change

    assert production.execute(f"SELECT count(*) FROM {base}.ITEMS", user=BRANCH_USER) == [(3,)]
    assert {
        production.access.owner(Securable(kind, f"{base}{name}"))
        for kind, name in (("SCHEMA", ""), ("TABLE", ".ITEMS"))
    } == {"HN_PRODUCTION"}
    for sql, refused in (
        (f"INSERT INTO {base}.ITEMS VALUES (4, 'poll')", "table 'ITEMS'"),
        (f"DELETE FROM {base}.ITEMS", "table 'ITEMS'"),
        (f"DROP TABLE {base}.ITEMS", "table 'ITEMS'"),
        (f"CREATE TABLE {base}.MINE (N INTEGER)", "schema 'HACKER_NEWS_BASE'"),
        (f"DROP SCHEMA {base}", "schema 'HACKER_NEWS_BASE'"),
    ):
        with pytest.raises(ProgrammingError, match=f"Insufficient privileges to operate on {refused}"):
            production.execute(sql, user=BRANCH_USER)
    assert_frame_equal(production.read_table(f"{base}.ITEMS"), PRODUCTION_ROWS)
    assert production.execute("SELECT count(*) FROM PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS") == [(0,)]


def test_the_branch_writes_its_clone_and_nothing_of_production(production, use_environment) -> None:
    use_environment("production")
    run("clone_prod", {"pr_id": "42"})

    production.execute("INSERT INTO PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS VALUES (4, 'poll')", user=BRANCH_USER)
    production.execute("DROP VIEW PRODUCTION_CLONE_42.HACKER_NEWS.STORIES", user=BRANCH_USER)
    production.execute("CREATE TABLE PRODUCTION_CLONE_42.AUDIT.RUNS (N INTEGER)", user=BRANCH_USER)
    for sql in (
        "INSERT INTO PRODUCTION.HACKER_NEWS.ITEMS VALUES (4, 'poll')",
        "DELETE FROM PRODUCTION.HACKER_NEWS.ITEMS",
        "DROP TABLE PRODUCTION.HACKER_NEWS.ITEMS",
        "SELECT * FROM PRODUCTION.HACKER_NEWS.ITEMS",
    ):
        with pytest.raises(ProgrammingError, match="Database 'PRODUCTION' does not exist or not authorized"):
            production.execute(sql, user=BRANCH_USER)

    assert production.execute("SELECT count(*) FROM PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS") == [(4,)]
    assert_frame_equal(production.read_table("PRODUCTION.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)


def test_without_the_hand_over_the_branch_cannot_write_its_clone(production) -> None:
    """What the hand-over is for: a clone keeps production's ownership of everything inside it."""
    production.execute("CREATE DATABASE PRODUCTION_CLONE_42 CLONE PRODUCTION", user=PRODUCTION_USER)
    production.execute("GRANT USAGE ON DATABASE PRODUCTION_CLONE_42 TO ROLE HN_BRANCH", user=PRODUCTION_USER)

    with pytest.raises(ProgrammingError, match=r"Schema 'PRODUCTION_CLONE_42\.HACKER_NEWS' does not exist or not"):
        production.execute("DELETE FROM PRODUCTION_CLONE_42.HACKER_NEWS.ITEMS", user=BRANCH_USER)


def test_production_re_clones_and_drops_what_the_branch_owns(production, use_environment) -> None:
    use_environment("production")
    run("clone_prod", {"pr_id": "7"})
    production.execute("DELETE FROM PRODUCTION_CLONE_7.HACKER_NEWS.ITEMS", user=BRANCH_USER)

    run("clone_prod", {"pr_id": "7"})
    assert_frame_equal(production.read_table("PRODUCTION_CLONE_7.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)
    run("drop_prod_clone", {"pr_id": "7"})

    assert "PRODUCTION_CLONE_7" not in production.databases()
    assert_frame_equal(production.read_table("PRODUCTION.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)


def test_a_branch_drops_its_own_clone_and_a_second_drop_is_harmless(production, use_environment) -> None:
    use_environment("production")
    run("clone_prod", {"pr_id": "5"})
    use_environment("branch", 5)

    assert run("drop_prod_clone", {"pr_id": "5"}).success
    assert run("drop_prod_clone", {"pr_id": "5"}).success
    assert "PRODUCTION_CLONE_5" not in production.databases()
    assert "PRODUCTION" in production.databases()


def test_a_branch_role_cannot_clone_production(production, use_environment) -> None:
    """The guide's flow (the branch clones PRODUCTION itself) is impossible: the branch role holds nothing there."""
    with pytest.raises(ProgrammingError, match="Database 'PRODUCTION' does not exist or not authorized"):
        production.execute("CREATE DATABASE PRODUCTION_CLONE_42 CLONE PRODUCTION", user=BRANCH_USER)
    assert "PRODUCTION_CLONE_42" not in production.databases()


def test_sweeper_drops_only_old_clones_and_never_an_open_pull_request_s(production, use_environment, code_host) -> None:
    use_environment("production", **code_host.github)
    code_host.state.add(4, "a" * 40)  # open for weeks, waiting for review
    code_host.state.add(5, "b" * 40)  # open too, but the list of open ones leaves it out
    code_host.state.left_out_of_lists = {5}
    for pull_request in ("1", "2", "4", "5"):
        run("clone_prod", {"pr_id": pull_request})
    for name in ("PRODUCTIONXCLONEX3", "PRODUCTION_CLONE_OLD", "ANALYTICS"):
        production.execute(f"CREATE DATABASE {name}", user=PRODUCTION_USER)  # decoys production can see and drop
    now = datetime.now(UTC)
    old, young = now - timedelta(days=30), now - timedelta(days=2)
    for name in ("PRODUCTION_CLONE_1", "PRODUCTION_CLONE_4", "PRODUCTION_CLONE_5", "PRODUCTIONXCLONEX3",
                 "PRODUCTION_CLONE_OLD", "ANALYTICS", "PRODUCTION"):  # fmt: skip
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
    assert output_metadata(swept)["kept"] == "PRODUCTION_CLONE_2, PRODUCTION_CLONE_4, PRODUCTION_CLONE_5"
    assert output_metadata(swept)["open_pull_requests"] == "4"
    assert_frame_equal(production.read_table("PRODUCTION.HACKER_NEWS.ITEMS"), PRODUCTION_ROWS)


def test_the_sweeper_drops_nothing_when_the_code_host_cannot_say_what_is_open(production, use_environment) -> None:
    use_environment("production")  # the code host's address answers nothing
    run("clone_prod", {"pr_id": "1"})
    production.set_database_created_on("PRODUCTION_CLONE_1", datetime.now(UTC) - timedelta(days=30))

    result = run("sweep_stale_clones", {"max_age_days": 7}, raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.event_specific_data.user_failure_data.description.startswith(
        "Nothing swept: the code host could not say which pull requests are open"
    )
    assert "PRODUCTION_CLONE_1" in production.databases()


def test_sweep_schedule_runs_daily_in_production(use_environment) -> None:
    use_environment("production")

    schedule = defs().resolve_schedule_def("sweep_stale_clones_daily")

    assert (schedule.cron_schedule, schedule.default_status) == ("0 4 * * *", dg.DefaultScheduleStatus.RUNNING)

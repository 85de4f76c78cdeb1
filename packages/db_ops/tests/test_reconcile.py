"""Production's sensor ``pull_request_clones``: clones reconciled with the pull requests the code host says are open,
on the emulator provisioned by deploy/snowflake/ and the GitHub and GitLab stand-ins (``hn_testing.code_host``)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from db_ops.code_host import CodeHostError, GitHubPullRequests
from db_ops.definitions import defs

PRODUCTION_USER = "HN_PRODUCTION_SVC"
SHA = {number: f"{number:x}".rjust(40, "a") for number in range(1, 200)}


@pytest.fixture
def instance():
    """Production's Dagster instance: where the sensor finds the clone and drop runs it asked for."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def production(provisioned_snowflake):
    provisioned_snowflake.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS", user=PRODUCTION_USER)
    provisioned_snowflake.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INTEGER)", user=PRODUCTION_USER)
    return provisioned_snowflake


def tick(instance: dg.DagsterInstance) -> dg.SensorResult | dg.SkipReason:
    """One evaluation of the sensor, with production's own resources and instance."""
    definitions = defs()
    sensor = definitions.resolve_sensor_def("pull_request_clones")
    resources = {key: definitions.resources[key] for key in ("code_host", "snowflake")}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return sensor(context)


def launch(request: dg.RunRequest, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """A run request executed as the daemon would launch it: its job, its config, its tags, in the instance."""
    job = defs().resolve_job_def(request.job_name)
    return job.execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance, raise_on_error=False
    )


def requested(result) -> list[tuple[str, str]]:
    assert isinstance(result, dg.SensorResult), result
    return [(request.job_name, request.run_key) for request in result.run_requests]


@pytest.mark.parametrize("host", ["github", "gitlab"])
def test_open_pull_requests_get_clones_and_closed_ones_lose_theirs(
    production, use_environment, code_host, host, instance
):
    use_environment("production", **getattr(code_host, host))
    code_host.state.add(1, SHA[1])  # open, cloned
    code_host.state.add(2, SHA[2], state="merged")  # merged with no close event: its clone is left behind
    code_host.state.add(5, SHA[5])  # opened, not cloned yet
    code_host.state.add(6, SHA[6], from_fork=True)  # a fork's: no branch deployment, no clone
    code_host.state.add(8, SHA[8], from_fork=True, fork_deleted=True)  # a deleted fork's: GitHub says repo null
    code_host.state.add(7, SHA[7], state="closed")  # closed, never cloned
    for number in (1, 2, 3):  # 3: a pull request the host does not know
        production.execute(f"CREATE DATABASE PRODUCTION_CLONE_{number} CLONE PRODUCTION", user=PRODUCTION_USER)
    created = {name: production.database_created_on(name) for name in production.databases()}

    result = tick(instance)

    assert requested(result) == [
        ("clone_prod", f"clone-1-{SHA[1]}-1"),  # its clone holds no record of this commit: made again
        ("clone_prod", f"clone-5-{SHA[5]}-1"),
        ("drop_prod_clone", f"drop-PRODUCTION_CLONE_2-{created['PRODUCTION_CLONE_2']:%Y%m%dT%H%M%S}-1"),
    ]
    for request in result.run_requests:
        assert launch(request, instance).success
    assert {name for name in production.databases() if name.startswith("PRODUCTION_CLONE_")} == {
        "PRODUCTION_CLONE_1",
        "PRODUCTION_CLONE_3",  # an orphan: the age sweep's
        "PRODUCTION_CLONE_5",
    }
    ((commit,),) = production.execute("SELECT COMMIT_SHA FROM PRODUCTION_CLONE_5.HACKER_NEWS_BASE.CLONE_RECORD")
    assert commit == SHA[5]


def test_each_push_is_cloned_once_and_a_new_push_again(production, use_environment, code_host, instance):
    use_environment("production", **code_host.github)
    code_host.state.add(1, SHA[1])

    (first,) = tick(instance).run_requests
    assert launch(first, instance).success
    settled = tick(instance)
    code_host.state.add(1, SHA[2])  # a push
    pushed = requested(tick(instance))

    assert first.run_key == f"clone-1-{SHA[1]}-1"
    assert isinstance(settled, dg.SkipReason)
    assert settled.skip_message == "1 clones up to date"
    assert pushed == [("clone_prod", f"clone-1-{SHA[2]}-1")]


def test_a_failed_clone_is_tried_again_then_given_up_until_the_next_push(
    production, provisioned_snowflake, use_environment, code_host, instance
):
    use_environment("production", **code_host.github)
    code_host.state.add(1, SHA[1])
    grants = ("ROLE HN_PRODUCTION", "USER HN_PRODUCTION_SVC")
    provisioned_snowflake.run_script(
        "USE ROLE USERADMIN;\n" + "".join(f"REVOKE ROLE HN_BRANCH FROM {g};\n" for g in grants)
    )

    keys = []
    for _ in range(3):
        (request,) = tick(instance).run_requests
        keys.append(request.run_key)
        assert not launch(request, instance).success  # the hand-over cannot activate the branch role
    given_up = tick(instance)
    provisioned_snowflake.run_script(
        "USE ROLE USERADMIN;\n" + "".join(f"GRANT ROLE HN_BRANCH TO {g};\n" for g in grants)
    )
    code_host.state.add(1, SHA[2])  # the next push
    (retried,) = tick(instance).run_requests

    assert keys == [f"clone-1-{SHA[1]}-{attempt}" for attempt in (1, 2, 3)]
    assert isinstance(given_up, dg.SkipReason)
    assert given_up.skip_message == f"0 clones up to date; gave up on clone-1-{SHA[1]}"
    assert retried.run_key == f"clone-1-{SHA[2]}-1"
    assert launch(retried, instance).success


def test_a_failed_drop_is_tried_again_until_the_clone_is_gone(
    production, provisioned_snowflake, use_environment, code_host, instance
):
    """Every closed pull request's clone goes: a drop that fails (here another role owns the clone) is asked again on
    the next tick, not left to the age sweep."""
    use_environment("production", **code_host.github)
    code_host.state.add(2, SHA[2], state="closed")
    production.execute("CREATE DATABASE PRODUCTION_CLONE_2 CLONE PRODUCTION", user=PRODUCTION_USER)
    production.run_script(  # another role owns it now; production still sees it, and cannot drop it
        "USE ROLE SECURITYADMIN;\n"
        "GRANT OWNERSHIP ON DATABASE PRODUCTION_CLONE_2 TO ROLE HN_STAGING COPY CURRENT GRANTS;\n"
        "GRANT USAGE ON DATABASE PRODUCTION_CLONE_2 TO ROLE HN_PRODUCTION;"
    )

    (first,) = tick(instance).run_requests
    assert not launch(first, instance).success
    production.run_script(
        "USE ROLE SECURITYADMIN;\nGRANT OWNERSHIP ON DATABASE PRODUCTION_CLONE_2 TO ROLE HN_BRANCH COPY CURRENT GRANTS;"
    )
    (second,) = tick(instance).run_requests

    assert (first.run_key[-2:], second.run_key[-2:]) == ("-1", "-2")
    assert launch(second, instance).success
    assert "PRODUCTION_CLONE_2" not in production.databases()
    assert isinstance(tick(instance), dg.SkipReason)


def test_nothing_is_asked_for_a_pull_request_whose_clone_or_drop_run_is_in_flight(
    production, use_environment, code_host, instance
):
    use_environment("production", **code_host.github)
    code_host.state.add(1, SHA[1])
    code_host.state.add(2, SHA[2], state="closed")
    production.execute("CREATE DATABASE PRODUCTION_CLONE_2 CLONE PRODUCTION", user=PRODUCTION_USER)
    for number, job in ((1, "clone_prod"), (2, "drop_prod_clone")):  # launched, not started yet
        job_def = defs().resolve_job_def(job)
        instance.create_run_for_job(
            job_def,
            run_config={"ops": {job_def.graph.node_defs[0].name: {"config": {"pr_id": str(number)}}}},
            tags={"hn/pull_request": str(number)},
            status=dg.DagsterRunStatus.NOT_STARTED,
        )

    result = tick(instance)

    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "0 clones up to date; waiting for the runs of pull requests 1, 2"


def test_every_page_of_open_pull_requests_is_read(production, use_environment, code_host, instance):
    use_environment("production", **code_host.github)
    for number in range(1, 151):
        code_host.state.add(number, SHA[number])

    result = tick(instance)

    assert len(requested(result)) == 150
    assert sum("/pulls?state=open" in path for path in code_host.state.requests) == 2


@pytest.mark.parametrize("failure", [502, "rate"])
@pytest.mark.parametrize("host", ["github", "gitlab"])
def test_a_server_error_or_a_short_rate_limit_is_waited_out(
    production, use_environment, code_host, host, failure, instance
):
    """The sensor's client asks twice and waits at most 5 s for a rate limit: a tick must end within Dagster's 60 s,
    and a host slower than that is asked again on the next tick."""
    use_environment("production", **getattr(code_host, host))
    code_host.state.add(1, SHA[1])
    code_host.state.fail_next = [failure]

    assert requested(tick(instance)) == [("clone_prod", f"clone-1-{SHA[1]}-1")]
    assert len(code_host.state.requests) == 2


def test_a_code_host_that_refuses_makes_and_drops_nothing_and_says_why(
    production, use_environment, code_host, instance
):
    use_environment("production", **{**code_host.github, "HN_CODE_HOST_TOKEN": "revoked"})
    production.execute("CREATE DATABASE PRODUCTION_CLONE_2 CLONE PRODUCTION", user=PRODUCTION_USER)

    result = tick(instance)

    assert isinstance(result, dg.SkipReason)
    assert "The code host could not be asked, so nothing is cloned or dropped" in result.skip_message
    assert "HTTP 401" in result.skip_message
    assert "Bad credentials" in result.skip_message
    assert "PRODUCTION_CLONE_2" in production.databases()


def test_a_rate_limit_longer_than_the_longest_wait_fails_at_once(code_host):
    code_host.state.fail_next = ["rate"]
    host = GitHubPullRequests(project="acme/platform", token="code-host-token", api_url=code_host.url,
                              max_wait_seconds=0)  # fmt: skip
    started = datetime.now(UTC)

    with pytest.raises(CodeHostError, match="HTTP 403 \\(rate limited for"):
        host.open_pull_requests()
    assert (datetime.now(UTC) - started).total_seconds() < 1


@pytest.mark.parametrize(("environment", "pull_request"), [("staging", None), ("branch", 4), ("local", None)])
def test_the_sensor_exists_only_in_production(use_environment, environment, pull_request):
    use_environment(environment, pull_request)
    assert "pull_request_clones" not in {sensor.name for sensor in defs().sensors or []}

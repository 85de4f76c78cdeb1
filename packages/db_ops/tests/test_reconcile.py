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
def production(provisioned_snowflake):
    provisioned_snowflake.execute("CREATE SCHEMA PRODUCTION.HACKER_NEWS", user=PRODUCTION_USER)
    provisioned_snowflake.execute("CREATE TABLE PRODUCTION.HACKER_NEWS.ITEMS (ID INTEGER)", user=PRODUCTION_USER)
    return provisioned_snowflake


def tick() -> dg.SensorResult | dg.SkipReason:
    """One evaluation of the sensor, with production's own resources."""
    definitions = defs()
    sensor = definitions.resolve_sensor_def("pull_request_clones")
    resources = {key: definitions.resources[key] for key in ("code_host", "snowflake")}
    with dg.build_sensor_context(resources=resources) as context:
        return sensor(context)


def launch(request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """A run request executed as the daemon would launch it: its job, its config, its tags."""
    job = defs().resolve_job_def(request.job_name)
    return job.execute_in_process(run_config=request.run_config, tags=request.tags)


def requested(result) -> list[tuple[str, str]]:
    assert isinstance(result, dg.SensorResult), result
    return [(request.job_name, request.run_key) for request in result.run_requests]


@pytest.mark.parametrize("host", ["github", "gitlab"])
def test_open_pull_requests_get_clones_and_closed_ones_lose_theirs(production, use_environment, code_host, host):
    use_environment("production", **getattr(code_host, host))
    code_host.state.add(1, SHA[1])  # open, cloned
    code_host.state.add(2, SHA[2], state="merged")  # merged with no close event: its clone is left behind
    code_host.state.add(5, SHA[5])  # opened, not cloned yet
    code_host.state.add(6, SHA[6], from_fork=True)  # a fork's: no branch deployment, no clone
    code_host.state.add(7, SHA[7], state="closed")  # closed, never cloned
    for number in (1, 2, 3):  # 3: a pull request the host does not know
        production.execute(f"CREATE DATABASE PRODUCTION_CLONE_{number} CLONE PRODUCTION", user=PRODUCTION_USER)
    created = {name: production.database_created_on(name) for name in production.databases()}

    result = tick()

    assert requested(result) == [
        ("clone_prod", f"clone-1-{SHA[1]}"),
        ("clone_prod", f"clone-5-{SHA[5]}"),
        ("drop_prod_clone", f"drop-PRODUCTION_CLONE_2-{created['PRODUCTION_CLONE_2']:%Y%m%dT%H%M%S}"),
    ]
    for request in result.run_requests:
        assert launch(request).success
    assert {name for name in production.databases() if name.startswith("PRODUCTION_CLONE_")} == {
        "PRODUCTION_CLONE_1",
        "PRODUCTION_CLONE_3",  # an orphan: the age sweep's
        "PRODUCTION_CLONE_5",
    }
    ((commit,),) = production.execute("SELECT COMMIT_SHA FROM PRODUCTION_CLONE_5.HACKER_NEWS_BASE.CLONE_RECORD")
    assert commit == SHA[5]


def test_each_push_is_cloned_once_and_a_new_push_again(production, use_environment, code_host):
    use_environment("production", **code_host.github)
    code_host.state.add(1, SHA[1])

    first, again = requested(tick()), requested(tick())
    code_host.state.add(1, SHA[2])  # a push
    pushed = requested(tick())

    assert first == again == [("clone_prod", f"clone-1-{SHA[1]}")], "the same run key: Dagster launches it once"
    assert pushed == [("clone_prod", f"clone-1-{SHA[2]}")]


def test_every_page_of_open_pull_requests_is_read(production, use_environment, code_host):
    use_environment("production", **code_host.github)
    for number in range(1, 151):
        code_host.state.add(number, SHA[number])

    result = tick()

    assert len(requested(result)) == 150
    assert sum("/pulls?state=open" in path for path in code_host.state.requests) == 2


@pytest.mark.parametrize("host", ["github", "gitlab"])
def test_server_errors_and_rate_limits_are_waited_out(production, use_environment, code_host, host):
    use_environment("production", **getattr(code_host, host))
    code_host.state.add(1, SHA[1])
    code_host.state.fail_next = [502, "rate"]

    assert requested(tick()) == [("clone_prod", f"clone-1-{SHA[1]}")]
    assert len(code_host.state.requests) == 3


def test_a_code_host_that_refuses_makes_and_drops_nothing_and_says_why(production, use_environment, code_host):
    use_environment("production", **{**code_host.github, "HN_CODE_HOST_TOKEN": "revoked"})
    production.execute("CREATE DATABASE PRODUCTION_CLONE_2 CLONE PRODUCTION", user=PRODUCTION_USER)

    result = tick()

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

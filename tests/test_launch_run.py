"""deploy/ci/launch_run.py: launch a Dagster+ job, wait, and exit non-zero unless its run succeeded.

Driven through every outcome by the stand-in `dagster-cloud` on PATH (fake_dagster_cloud.py), which, like the real CLI,
exits 0 on a failed run and on a failed status query. The stand-in is itself checked against the real CLI: both run
the same commands against a local stand-in of Dagster+'s GraphQL API (the two queries the CLI sends for these
commands, gql.py `CliLaunchRun` and `CliGetRunStatus`) and must print the same lines and exit with the same codes;
the script also runs once over the real CLI end to end.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "ci" / "launch_run.py"
REAL_CLI = Path(sys.executable).with_name("dagster-cloud")
CLONE_CONFIG = {"ops": {"clone_production_database": {"config": {"pr_id": "42"}}}}
TAGS = {"github/pull_request": "42"}
RUN_URL = re.compile(r"http://127\.0\.0\.1:\d+/prod/runs/([0-9a-f-]{36})")
FAST = {"LAUNCH_RUN_INTERVAL_SECONDS": "0", "LAUNCH_RUN_RETRY_DELAY_SECONDS": "0"}
LAUNCH_KEY_TAG = "hn/ci_launch"
# A GitHub Actions job, whose re-runs keep GITHUB_RUN_ID.
GITHUB_JOB_ENV = {"GITHUB_REPOSITORY": "acme/hn", "GITHUB_RUN_ID": "7001", "GITHUB_JOB": "data_diff"}

SUCCEEDED, FAILED, BAD_INPUT, CANCELED, TIMED_OUT, LAUNCH_FAILED, STATUS_UNKNOWN = 0, 1, 2, 3, 4, 5, 6


def launch_run(env: dict[str, str], *extra: str, job: str = "clone_prod") -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable,
        str(SCRIPT),
        "--deployment=prod",
        "--location=db_ops",
        f"--job={job}",
        f"--config-json={json.dumps(CLONE_CONFIG)}",
        f"--tags={json.dumps(TAGS)}",
        *extra,
    ]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def output(completed: subprocess.CompletedProcess[str]) -> str:
    return completed.stdout + completed.stderr


def own_tags(launch: dict[str, Any]) -> dict[str, str]:
    """The launch's tags without the launch key, which every launch carries (checked here)."""
    tags = dict(launch["tags"])
    assert re.fullmatch(r"[0-9a-f]{32}", tags.pop(LAUNCH_KEY_TAG, "")), launch["tags"]
    return tags


# ---- every outcome, over the stand-in CLI ----


def test_a_successful_run_waits_for_the_end_and_prints_the_url(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", ["QUEUED", "STARTING", "STARTED", "SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**FAST))
    assert completed.returncode == SUCCEEDED, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert (launch["deployment"], launch["location"], launch["repository"], launch["job"]) == (
        "prod",
        "db_ops",
        "__repository__",
        "clone_prod",
    )
    assert (launch["config"], own_tags(launch)) == (CLONE_CONFIG, TAGS)
    assert not launch["wait"], "the script waits itself: `--wait` exits 0 on a failed run"
    assert [q["answer"] for q in fake_dagster_cloud.status_queries()] == ["QUEUED", "STARTING", "STARTED", "SUCCESS"]
    assert RUN_URL.search(completed.stdout).group(1) == launch["run_id"]
    assert "clone_prod succeeded in prod" in completed.stdout


def test_assets_and_a_partition_range_run_in_one_run_of_the_asset_job(fake_dagster_cloud):
    fake_dagster_cloud.plan("__ASSET_JOB", ["STARTED", "SUCCESS"])
    completed = launch_run(
        fake_dagster_cloud.env(**FAST),
        "--asset-key=comments",
        "--asset-key=item_history",
        "--partition-range=2026-12-06-17:00...2026-12-06-19:00",
        job="__ASSET_JOB",
    )
    assert completed.returncode == SUCCEEDED, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert (launch["job"], launch["asset_keys"]) == ("__ASSET_JOB", ["comments", "item_history"])
    assert own_tags(launch) == {
        **TAGS,
        "dagster/asset_partition_range_start": "2026-12-06-17:00",
        "dagster/asset_partition_range_end": "2026-12-06-19:00",
    }


def test_a_range_of_one_partition_is_the_run_of_that_partition(fake_dagster_cloud):
    completed = launch_run(
        fake_dagster_cloud.env(**FAST),
        "--asset-key=item_history",
        "--partition-range=2026-12-06-17:00...2026-12-06-17:00",
        job="__ASSET_JOB",
    )
    assert completed.returncode == SUCCEEDED, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert own_tags(launch) == {**TAGS, "dagster/partition": "2026-12-06-17:00"}


@pytest.mark.parametrize(
    ("statuses", "code", "message"),
    [
        (["STARTED", "FAILURE"], FAILED, "failed (FAILURE)"),
        (["QUEUED", "CANCELING", "CANCELED"], CANCELED, "was canceled before it finished (CANCELED)"),
    ],
)
def test_a_run_that_does_not_succeed_fails_the_step(fake_dagster_cloud, statuses, code, message):
    fake_dagster_cloud.plan("clone_prod", statuses)
    completed = launch_run(fake_dagster_cloud.env(**FAST))
    assert completed.returncode == code, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert f"clone_prod run {launch['run_id']} in prod {message}" in completed.stderr
    assert f"{fake_dagster_cloud.url}/prod/runs/{launch['run_id']}" in completed.stderr


def test_a_refused_launch_fails_with_the_cli_output(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", "LAUNCH_ERROR")
    completed = launch_run(fake_dagster_cloud.env(**FAST))
    assert completed.returncode == LAUNCH_FAILED, output(completed)
    assert "could not launch clone_prod in prod (location db_ops, repository __repository__)" in completed.stderr
    assert "dagster-cloud job launch exited 1" in completed.stderr
    assert "Unable to launch run" in completed.stderr
    assert fake_dagster_cloud.status_queries() == []


def test_a_run_that_does_not_finish_in_time_times_out(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", ["QUEUED", "STARTED"])
    env = fake_dagster_cloud.env(LAUNCH_RUN_INTERVAL_SECONDS="0.05", LAUNCH_RUN_TIMEOUT_SECONDS="2")
    completed = launch_run(env)
    assert completed.returncode == TIMED_OUT, output(completed)
    assert "did not finish within the 2 s budget: it is still STARTED and goes on in Dagster+" in completed.stderr
    assert len(fake_dagster_cloud.status_queries()) >= 2, "it kept polling until the deadline"


def test_failed_status_queries_are_retried(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", ["STATUS_ERROR", "STATUS_ERROR", "STARTED", "STATUS_ERROR", "SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**FAST))
    assert completed.returncode == SUCCEEDED, output(completed)
    assert "status query failed (2 in a row): Error: Failed to get status for run" in completed.stdout


def test_a_status_that_cannot_be_read_fails_the_step(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", ["STARTED", "STATUS_ERROR"])
    completed = launch_run(fake_dagster_cloud.env(**FAST))
    assert completed.returncode == STATUS_UNKNOWN, output(completed)
    assert "could not read the status of clone_prod run" in completed.stderr
    assert "6 queries in a row failed" in completed.stderr
    assert len(fake_dagster_cloud.launches()) == 1


# ---- retries ----


@pytest.mark.parametrize("first", [["FAILURE"], "LAUNCH_ERROR"])
def test_a_failed_run_or_launch_is_retried(fake_dagster_cloud, first):
    fake_dagster_cloud.plan("drop_prod_clone", first, ["STARTED", "SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**FAST), "--attempts=2", job="drop_prod_clone")
    assert completed.returncode == SUCCEEDED, output(completed)
    assert len(fake_dagster_cloud.launches()) == 2
    assert "warning: " in completed.stderr
    assert "Attempt 1 of 2 failed; retrying in 0 s" in completed.stdout


def test_retries_run_out(fake_dagster_cloud):
    fake_dagster_cloud.plan("drop_prod_clone", ["FAILURE"], ["FAILURE"], ["SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**FAST), "--attempts=2", job="drop_prod_clone")
    assert completed.returncode == FAILED, output(completed)
    assert len(fake_dagster_cloud.launches()) == 2


@pytest.mark.parametrize(
    ("statuses", "timeout", "code"),
    [(["CANCELED"], "60", CANCELED), (["STARTED"], "0.2", TIMED_OUT), (["STATUS_ERROR"], "60", STATUS_UNKNOWN)],
)
def test_a_run_that_may_still_go_on_or_was_stopped_on_purpose_is_not_retried(
    fake_dagster_cloud, statuses, timeout, code
):
    fake_dagster_cloud.plan("drop_prod_clone", statuses, ["SUCCESS"])
    env = fake_dagster_cloud.env(**FAST, LAUNCH_RUN_TIMEOUT_SECONDS=timeout)
    completed = launch_run(env, "--attempts=3", job="drop_prod_clone")
    assert completed.returncode == code, output(completed)
    assert len(fake_dagster_cloud.launches()) == 1


# ---- a launch call that dies, a refusal, the budget ----


@pytest.mark.parametrize("ending", ["HANG", "LOST"])
def test_a_launch_call_that_dies_after_creating_its_run_is_followed_not_repeated(fake_dagster_cloud, ending):
    """The CLI hangs (killed at the call timeout) or loses the answer after Dagster+ created the run: the script finds
    the run by its launch key and waits for it; a second launch would run the job twice."""
    fake_dagster_cloud.plan("clone_prod", [ending, "STARTED", "SUCCESS"], ["SUCCESS"])
    env = fake_dagster_cloud.env(**FAST, LAUNCH_RUN_CALL_TIMEOUT_SECONDS="2")
    completed = launch_run(env, "--attempts=3")
    assert completed.returncode == SUCCEEDED, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert f"yet it created run {launch['run_id']}: following it instead of launching again" in completed.stdout
    assert [q["answer"] for q in fake_dagster_cloud.status_queries()] == ["STARTED", "SUCCESS"]


def test_a_run_created_after_its_launch_call_gave_up_is_found_before_launching_again(fake_dagster_cloud):
    """The first lookup finds nothing (Dagster+ still creating the run); the one before the relaunch finds it."""
    fake_dagster_cloud.plan("clone_prod", ["LATE", "STARTED", "SUCCESS"], ["SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**FAST), "--attempts=3")
    assert completed.returncode == SUCCEEDED, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert f"The earlier launch created run {launch['run_id']} after all" in completed.stdout


def test_a_partial_graphql_error_is_looked_up_not_taken_for_a_refusal(fake_dagster_cloud):
    """The CLI's "Error in GraphQL response" also comes with a run created and a field of it failing."""
    fake_dagster_cloud.plan("clone_prod", ["LOST", "SUCCESS"])
    data = fake_dagster_cloud.read()
    data["lost_message"] = "Error in GraphQL response: [{'message': 'field runConfigYaml failed'}]"
    fake_dagster_cloud.write(data)
    completed = launch_run(fake_dagster_cloud.env(**FAST), "--attempts=2")
    assert completed.returncode == SUCCEEDED, output(completed)
    assert len(fake_dagster_cloud.launches()) == 1


def test_a_rerun_launches_nothing_when_it_cannot_tell_whether_its_earlier_run_goes_on(fake_dagster_cloud):
    env = fake_dagster_cloud.env(**FAST, **GITHUB_JOB_ENV, DAGSTER_CLOUD_URL="http://127.0.0.1:9")
    completed = launch_run(env)
    assert completed.returncode == STATUS_UNKNOWN, output(completed)
    assert "could not look for a run this CI job launched before" in completed.stderr
    assert fake_dagster_cloud.launches() == []


def test_nothing_is_launched_once_the_budget_is_spent(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", "LAUNCH_ERROR", ["SUCCESS"])
    env = fake_dagster_cloud.env(**{**FAST, "LAUNCH_RUN_RETRY_DELAY_SECONDS": "0"}, LAUNCH_RUN_TIMEOUT_SECONDS="0")
    completed = launch_run(env, "--attempts=2")
    assert completed.returncode == TIMED_OUT, output(completed)
    assert "not launched: the 0 s budget is spent" in completed.stderr
    assert fake_dagster_cloud.launches() == []


def test_a_failed_launch_that_created_nothing_is_launched_again(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", "LAUNCH_ERROR", ["SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**FAST), "--attempts=2")
    assert completed.returncode == SUCCEEDED, output(completed)
    assert [launch["run_id"] is None for launch in fake_dagster_cloud.launches()] == [True, False]


def test_when_the_lookup_cannot_answer_nothing_more_is_launched(fake_dagster_cloud):
    fake_dagster_cloud.plan("clone_prod", ["LOST", "SUCCESS"], ["SUCCESS"])
    env = fake_dagster_cloud.env(**FAST, DAGSTER_CLOUD_URL="http://127.0.0.1:9")
    completed = launch_run(env, "--attempts=3")
    assert completed.returncode == STATUS_UNKNOWN, output(completed)
    assert "could not tell whether the launch of clone_prod in prod" in completed.stderr
    assert len(fake_dagster_cloud.launches()) == 1


@pytest.mark.parametrize(
    ("refusal", "hint"),
    [
        ("NOT_FOUND", "prod has no job clone_prod in code location db_ops: deploy that location there first"),
        ("UNAUTHORIZED", "the token DAGSTER_CLOUD_API_TOKEN may not launch runs in prod"),
    ],
)
def test_a_launch_refused_for_good_fails_at_once(fake_dagster_cloud, refusal, hint):
    fake_dagster_cloud.plan("clone_prod", refusal, ["SUCCESS"])
    completed = launch_run(fake_dagster_cloud.env(**{**FAST, "LAUNCH_RUN_RETRY_DELAY_SECONDS": "60"}), "--attempts=3")
    assert completed.returncode == LAUNCH_FAILED, output(completed)
    assert hint in completed.stderr
    assert len(fake_dagster_cloud.launches()) == 1, "not retried (and not after a minute's wait)"


def test_retries_stop_when_the_budget_is_spent(fake_dagster_cloud):
    """One budget covers launches, waits and retries: the step's timeout never kills the script before it reports."""
    fake_dagster_cloud.plan("clone_prod", *(["LAUNCH_ERROR"] * 10))
    env = fake_dagster_cloud.env(**{**FAST, "LAUNCH_RUN_RETRY_DELAY_SECONDS": "1"}, LAUNCH_RUN_TIMEOUT_SECONDS="1.5")
    completed = launch_run(env, "--attempts=10")
    assert completed.returncode == LAUNCH_FAILED, output(completed)
    assert "failed and no budget is left for another" in completed.stdout
    assert len(fake_dagster_cloud.launches()) <= 2


def test_a_rerun_of_the_ci_job_follows_its_earlier_run_and_relaunches_after_a_failure(fake_dagster_cloud):
    """A re-run (same GITHUB_RUN_ID and job) follows the run its first attempt left going instead of launching a
    second; once that run failed, a re-run launches afresh."""
    fake_dagster_cloud.plan("clone_prod", ["STARTED"], ["SUCCESS"])
    env = fake_dagster_cloud.env(**FAST, **GITHUB_JOB_ENV, LAUNCH_RUN_TIMEOUT_SECONDS="0.3")
    env["LAUNCH_RUN_INTERVAL_SECONDS"] = "0.05"
    assert launch_run(env).returncode == TIMED_OUT
    (first,) = fake_dagster_cloud.launches()

    rerun = launch_run({**env, "GITHUB_RUN_ATTEMPT": "2"})
    assert rerun.returncode == TIMED_OUT, output(rerun)
    assert f"Following run {first['run_id']} (STARTED), launched for this job before" in rerun.stdout
    assert len(fake_dagster_cloud.launches()) == 1

    data = fake_dagster_cloud.read()
    data["runs"][first["run_id"]].update(statuses=["FAILURE"], queries=1)
    fake_dagster_cloud.write(data)
    again = launch_run({**env, "GITHUB_RUN_ATTEMPT": "3"})
    assert again.returncode == SUCCEEDED, output(again)
    assert len(fake_dagster_cloud.launches()) == 2
    assert fake_dagster_cloud.launches()[1]["tags"][LAUNCH_KEY_TAG] == first["tags"][LAUNCH_KEY_TAG]


def test_outside_ci_every_invocation_has_its_own_launch_key(fake_dagster_cloud):
    for _ in range(2):
        assert launch_run(fake_dagster_cloud.env(**FAST)).returncode == SUCCEEDED
    keys = {launch["tags"][LAUNCH_KEY_TAG] for launch in fake_dagster_cloud.launches()}
    assert len(keys) == 2


# ---- refused before anything is launched ----


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--tags": "{github/pull_request: 42}"}, "--tags is not valid JSON"),
        (
            {"--tags": '{"github/pull_request": 42}'},
            "--tags: Dagster tags are strings; quote the values of github/pull_request",
        ),
        ({"--config-json": '["pr_id", "42"]'}, "--config-json must be a JSON object, got list"),
        ({"--config-json": ""}, "--config-json is not valid JSON"),
        ({"--deployment": " "}, "--deployment is empty"),
        ({"--attempts": "0"}, "--attempts must be at least 1"),
        ({"--partition-range": "2026-12-06-17:00"}, "--partition-range needs the assets to run it on (--asset-key)"),
        (
            {"--asset-key": "item_history", "--partition-range": "2026-12-06-17:00"},
            "--partition-range must be FIRST...LAST, got '2026-12-06-17:00'",
        ),
        (
            {"--asset-key": "item_history", "--partition-range": "a...b...c"},
            "--partition-range must be FIRST...LAST, got 'a...b...c'",
        ),
        (
            {
                "--asset-key": "item_history",
                "--partition-range": "a...b",
                "--tags": '{"dagster/asset_partition_range_start": "x"}',
            },
            "--partition-range sets dagster/asset_partition_range_start; leave it out of --tags",
        ),
    ],
)
def test_bad_arguments_are_refused_before_launching(fake_dagster_cloud, change, message):
    arguments = {
        "--deployment": "prod",
        "--location": "db_ops",
        "--job": "clone_prod",
        "--config-json": json.dumps(CLONE_CONFIG),
        "--tags": json.dumps(TAGS),
        **change,
    }
    argv = [sys.executable, str(SCRIPT), *(f"{name}={value}" for name, value in arguments.items())]
    completed = subprocess.run(
        argv, env=fake_dagster_cloud.env(**FAST), capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == BAD_INPUT, output(completed)
    assert f"error: nothing launched: {message}" in completed.stderr
    assert fake_dagster_cloud.read()["calls"] == []


def test_missing_environment_variables_are_listed_by_name(fake_dagster_cloud):
    env = fake_dagster_cloud.env(**FAST)
    del env["DAGSTER_CLOUD_API_TOKEN"], env["DAGSTER_CLOUD_ORGANIZATION"], env["DAGSTER_CLOUD_URL"]
    completed = launch_run(env)
    assert completed.returncode == BAD_INPUT, output(completed)
    assert (
        "missing environment variables: DAGSTER_CLOUD_API_TOKEN, DAGSTER_CLOUD_URL (or DAGSTER_CLOUD_ORGANIZATION)"
        in completed.stderr
    )
    assert fake_dagster_cloud.read()["calls"] == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DAGSTER_CLOUD_URL": "https://.dagster.cloud"}, "DAGSTER_CLOUD_URL must be the organization's URL"),
        ({"DAGSTER_CLOUD_URL": "https://acme.dagster.cloud/prod"}, "without a deployment"),
        ({"DAGSTER_CLOUD_URL": "acme.dagster.cloud"}, "DAGSTER_CLOUD_URL must be the organization's URL"),
        ({"DAGSTER_CLOUD_URL": "", "DAGSTER_CLOUD_ORGANIZATION": "acme.eu"}, "must be the organization's name"),
    ],
)
def test_a_malformed_organization_setting_is_refused(fake_dagster_cloud, settings, message):
    """An unset repository variable once made ``https://.dagster.cloud``: refused by name, not a DNS error."""
    completed = launch_run(fake_dagster_cloud.env(**FAST, **settings))
    assert completed.returncode == BAD_INPUT, output(completed)
    assert message in completed.stderr
    assert fake_dagster_cloud.read()["calls"] == []


@pytest.mark.parametrize(
    ("name", "value"), [("LAUNCH_RUN_TIMEOUT_SECONDS", "ten"), ("LAUNCH_RUN_INTERVAL_SECONDS", "-1")]
)
def test_bad_timing_is_refused(fake_dagster_cloud, name, value):
    completed = launch_run(fake_dagster_cloud.env(**{**FAST, name: value}))
    assert completed.returncode == BAD_INPUT, output(completed)
    assert name in completed.stderr
    assert fake_dagster_cloud.read()["calls"] == []


def test_without_the_cli_nothing_is_launched(tmp_path):
    env = {"PATH": str(tmp_path), "DAGSTER_CLOUD_ORGANIZATION": "acme", "DAGSTER_CLOUD_API_TOKEN": "x"}
    completed = launch_run(env)
    assert completed.returncode == BAD_INPUT, output(completed)
    assert "dagster-cloud is not on PATH" in completed.stderr


# ---- what CI sees ----


def test_on_github_actions_the_outcome_is_an_annotation_outputs_and_a_summary(fake_dagster_cloud, tmp_path):
    fake_dagster_cloud.plan("clone_prod", ["FAILURE"])
    github_output, summary = tmp_path / "output", tmp_path / "summary"
    env = fake_dagster_cloud.env(
        **FAST, GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(github_output), GITHUB_STEP_SUMMARY=str(summary)
    )
    completed = launch_run(env)
    assert completed.returncode == FAILED
    (launch,) = fake_dagster_cloud.launches()
    assert re.search(r"^::error title=Dagster\+ run::clone_prod run .* failed \(FAILURE\)", completed.stdout, re.M)
    outputs = dict(line.split("=", 1) for line in github_output.read_text(encoding="utf-8").splitlines())
    assert outputs == {
        "run_id": launch["run_id"],
        "run_url": f"{fake_dagster_cloud.url}/prod/runs/{launch['run_id']}",
        "status": "FAILURE",
    }
    assert "did not succeed" in summary.read_text(encoding="utf-8")


def test_the_run_url_follows_dagster_cloud_url(fake_dagster_cloud):
    env = fake_dagster_cloud.env(**FAST, DAGSTER_CLOUD_URL="https://acme.eu.dagster.cloud/")
    completed = launch_run(env)
    assert completed.returncode == SUCCEEDED, output(completed)
    (launch,) = fake_dagster_cloud.launches()
    assert f"https://acme.eu.dagster.cloud/prod/runs/{launch['run_id']}" in completed.stdout


# ---- the script's assumptions ----


def load_script():
    if str(SCRIPT.parent) not in sys.path:
        sys.path.append(str(SCRIPT.parent))  # its sibling dagster_plus_graphql, as when run as a script
    spec = importlib.util.spec_from_file_location("launch_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_script_knows_every_run_status():
    script = load_script()
    assert set(script.TERMINAL_STATUSES) | set(script.RUNNING_STATUSES) == {s.value for s in DagsterRunStatus}
    assert set(script.TERMINAL_STATUSES) == {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.mark.parametrize(
    "script",
    [SCRIPT, SCRIPT.with_name("launch_request.py"), SCRIPT.with_name("dagster_plus_graphql.py")],
    ids=lambda p: p.name,
)
def test_the_script_runs_on_the_python_of_the_ci_images(script):
    """Standard library only (and its sibling), Python 3.9 syntax: the dagster-cloud-action image and GitHub's
    runners."""
    tree = ast.parse(script.read_text(encoding="utf-8"), feature_version=(3, 9))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    siblings = {"dagster_plus_graphql", "launch_request"}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"} | siblings, imported


def test_the_run_lookup_is_valid_against_dagsters_graphql_schema():
    """The query the script sends Dagster+ (which shares the open-source webserver's schema) validates against it."""
    from dagster_graphql.schema import create_schema
    from graphql import parse, validate

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import dagster_plus_graphql
    finally:
        sys.path.remove(str(SCRIPT.parent))
    schema = create_schema().graphql_schema
    for query in (dagster_plus_graphql.RUNS_TAGGED, dagster_plus_graphql.LATEST_MATERIALIZATIONS):
        assert validate(schema, parse(query)) == []


# ---- the stand-in against the real CLI ----


@dataclass
class DagsterPlusStandIn:
    """Dagster+'s GraphQL endpoint for the queries the CLI and the script send here, planned like the stand-in CLI.

    A plan may also be "LOST" first: the run is created and the answer is an HTTP 500 (which the CLI does not retry,
    graphql_client.py RETRY_STATUS_CODES). The token ``revoked-token`` gets HTTP 401, as Dagster+ answers a token it
    does not know.
    """

    plans: dict[str, list[Any]] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)
    run_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: dict[str, Any], deployment: str | None) -> tuple[int, dict[str, Any]]:
        query, variables = body["query"], body.get("variables") or {}
        with self.lock:
            self.requests.append({"query": query, "variables": variables, "deployment": deployment})
            if "CliLaunchRun" in query:
                return self.launch(variables["executionParams"])
            if "CliGetRunStatus" in query:
                statuses = self.runs.get(variables["runId"])
                if not statuses:
                    return 200, {"data": {"runOrError": {"__typename": "RunNotFoundError"}}}
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                return 200, {"data": {"runOrError": {"__typename": "Run", "id": variables["runId"], "status": status}}}
            if "runsOrError" in query:
                wanted = {tag["key"]: tag["value"] for tag in variables["filter"]["tags"]}
                results = [
                    {"runId": run_id, "status": self.runs[run_id][0], "creationTime": float(number)}
                    for number, (run_id, tags) in enumerate(self.run_tags.items())
                    if wanted.items() <= tags.items()
                ]
                return 200, {"data": {"runsOrError": {"__typename": "Runs", "results": results}}}
        raise AssertionError(f"unexpected query {query}")

    def launch(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        job = params["selector"]["jobName"]
        plan = self.plans[job].pop(0) if self.plans.get(job) else ["SUCCESS"]
        if plan == "LAUNCH_ERROR":
            error = {"__typename": "PythonError", "message": "launch refused", "stack": []}
            return 200, {"data": {"launchRun": error}}
        lost = plan[0] == "LOST"
        run_id = str(uuid.uuid4())
        self.runs[run_id] = list(plan[1:] if lost else plan)
        self.run_tags[run_id] = {tag["key"]: tag["value"] for tag in params["executionMetadata"]["tags"]}
        if lost:
            return 500, {"message": "Internal Server Error"}
        run = {"runId": run_id, "tags": [], "status": "QUEUED", "runConfigYaml": "{}"}
        return 200, {"data": {"launchRun": {"__typename": "LaunchRunSuccess", "run": run}}}


@pytest.fixture(scope="module")
def dagster_plus() -> Iterator[tuple[DagsterPlusStandIn, str]]:
    stand_in = DagsterPlusStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.headers.get("Dagster-Cloud-Api-Token") == "revoked-token":
                code, answer = 401, {"message": "Unauthorized"}
            else:
                code, answer = stand_in.answer(body, self.headers.get("Dagster-Cloud-Deployment"))
            payload = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stand_in, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# name -> (plan of the job, CLI arguments); each case launches its own job so that plans never mix.
CONTRACT_CASES = {
    "launch": (["SUCCESS"], ["job", "launch", "-d", "prod", "-l", "db_ops", "-j", "contract_launch"]),
    "launch refused": ("LAUNCH_ERROR", ["job", "launch", "-d", "prod", "-l", "db_ops", "-j", "contract_refused"]),
    "wait on a failed run": (
        ["STARTED", "FAILURE"],
        ["job", "launch", "-d", "prod", "-l", "db_ops", "-j", "contract_wait_fail", "--wait", "--interval", "0"],
    ),
    "wait on a successful run": (
        ["QUEUED", "SUCCESS"],
        ["job", "launch", "-d", "prod", "-l", "db_ops", "-j", "contract_wait_ok", "--wait", "--interval", "0"],
    ),
    "invalid tags": (["SUCCESS"], ["job", "launch", "-d", "prod", "-l", "db_ops", "-j", "x", "--tags", "{x}"]),
    "missing location": (["SUCCESS"], ["job", "launch", "-d", "prod", "-j", "contract_missing"]),
    "interval not an integer": (
        ["SUCCESS"],
        ["job", "launch", "-d", "prod", "-l", "db_ops", "-j", "x", "--wait", "--interval", "0.5"],
    ),
    "status of an unknown run": ([], ["run", "status", "-d", "prod", "0b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b"]),
    "status without a run id": ([], ["run", "status", "-d", "prod"]),
}


def normalized(text: str) -> list[str]:
    lines = [re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<run>", line) for line in text]
    return [line.rstrip() for line in lines]


def run_cli(executable: Path | str, argv: list[str], env: dict[str, str]) -> tuple[int, list[str], str]:
    completed = subprocess.run(
        [str(executable), *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    last_stderr_line = completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else ""
    return completed.returncode, normalized(completed.stdout.splitlines()), last_stderr_line


@pytest.fixture(scope="module")
def real_cli_results(dagster_plus) -> dict[str, tuple[int, list[str], str]]:
    """Every contract case through the real CLI at once (each call spends about 2 s importing)."""
    stand_in, url = dagster_plus
    for plan, argv in CONTRACT_CASES.values():
        if "-j" in argv and plan:
            stand_in.plans[argv[argv.index("-j") + 1]] = [plan]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "DAGSTER_CLOUD_URL": url}
    env["DAGSTER_CLOUD_API_TOKEN"] = "placeholder-token"
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, REAL_CLI, argv, env) for name, (_, argv) in CONTRACT_CASES.items()}
        return {name: future.result() for name, future in futures.items()}


def comparable_stderr(line: str) -> str:
    """The exception's last line up to the GraphQL answer it quotes (the stand-in's answer is shorter)."""
    return line.split("{")[0].strip()


@pytest.mark.parametrize("case", list(CONTRACT_CASES))
def test_the_stand_in_answers_like_the_real_cli(case, real_cli_results, fake_dagster_cloud):
    plan, argv = CONTRACT_CASES[case]
    if "-j" in argv and plan:
        fake_dagster_cloud.plan(argv[argv.index("-j") + 1], plan)
    env = fake_dagster_cloud.env(DAGSTER_CLOUD_URL="http://127.0.0.1:1")
    del env["DAGSTER_CLOUD_ORGANIZATION"]
    fake_code, fake_stdout, fake_stderr = run_cli(fake_dagster_cloud.bin_dir / "dagster-cloud", argv, env)
    real_code, real_stdout, real_stderr = real_cli_results[case]
    assert fake_code == real_code, (fake_stdout, fake_stderr, real_stdout, real_stderr)
    # The real CLI prints the run status query's result dict in its error; the stand-in's wording may differ there.
    assert [line.split(": {")[0] for line in fake_stdout] == [line.split(": {")[0] for line in real_stdout]
    if real_code == 1:
        assert comparable_stderr(fake_stderr) == comparable_stderr(real_stderr), (fake_stderr, real_stderr)


def test_the_script_over_the_real_cli(dagster_plus, tmp_path):
    """End to end: the script, the real CLI, the GraphQL stand-in; a failed run fails, in the deployment asked for."""
    stand_in, url = dagster_plus
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DAGSTER_CLOUD_URL": url, **FAST}
    env["DAGSTER_CLOUD_API_TOKEN"] = "placeholder-token"
    stand_in.plans["script_fails"] = [["STARTED", "FAILURE"]]
    stand_in.plans["script_succeeds"] = [["SUCCESS"]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        failing = pool.submit(launch_run, env, job="script_fails")
        succeeding = pool.submit(launch_run, env, job="script_succeeds")
        failed, succeeded = failing.result(), succeeding.result()
    assert failed.returncode == FAILED, output(failed)
    assert "script_fails run" in failed.stderr
    assert "failed (FAILURE)" in failed.stderr
    assert succeeded.returncode == SUCCEEDED, output(succeeded)
    assert f"{url}/prod/runs/" in succeeded.stdout
    launches = [
        r
        for r in stand_in.requests
        if r["variables"].get("executionParams", {}).get("selector", {}).get("jobName")
        in ("script_fails", "script_succeeds")
    ]
    assert len(launches) == 2
    for request in launches:
        params = request["variables"]["executionParams"]
        assert request["deployment"] == "prod"
        assert params["selector"]["repositoryLocationName"] == "db_ops"
        assert params["selector"]["repositoryName"] == "__repository__"
        assert params["runConfigData"] == CLONE_CONFIG
        tags = {tag["key"]: tag["value"] for tag in params["executionMetadata"]["tags"]}
        assert own_tags({"tags": tags}) == {"github/pull_request": "42"}
    status_queries = [r for r in stand_in.requests if "CliGetRunStatus" in r["query"]]
    assert status_queries
    assert all(r["deployment"] == "prod" for r in status_queries)


def test_the_script_over_the_real_cli_follows_a_lost_launch_and_stops_at_a_refusal(dagster_plus, tmp_path):
    """The real CLI exits 1 on an HTTP 500 that came after Dagster+ created the run: the script finds the run by its
    tag (runsOrError) and follows it, one run in all. A 401 is not retried: the CLI's message is recognised."""
    stand_in, url = dagster_plus
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DAGSTER_CLOUD_URL": url, **FAST}
    env["DAGSTER_CLOUD_API_TOKEN"] = "placeholder-token"
    stand_in.plans["script_lost"] = [["LOST", "STARTED", "SUCCESS"], ["SUCCESS"]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        lost = pool.submit(launch_run, env, "--attempts=3", job="script_lost")
        refused = pool.submit(launch_run, {**env, "DAGSTER_CLOUD_API_TOKEN": "revoked-token"}, "--attempts=3")
        lost_result, refused_result = lost.result(), refused.result()
    assert lost_result.returncode == SUCCEEDED, output(lost_result)
    launches = [r for r in stand_in.requests if "CliLaunchRun" in r["query"]]
    assert [r["variables"]["executionParams"]["selector"]["jobName"] for r in launches].count("script_lost") == 1
    assert "yet it created run" in lost_result.stdout
    assert refused_result.returncode == LAUNCH_FAILED, output(refused_result)
    assert "the token DAGSTER_CLOUD_API_TOKEN may not launch runs in prod" in refused_result.stderr
    assert "Attempt 1 of 3 failed" not in refused_result.stdout

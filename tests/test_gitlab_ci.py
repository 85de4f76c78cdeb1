""".gitlab-ci.yml: parses, its references resolve, and it encodes the branch deployment lifecycle.

Default branch: tests, then production deploys. Merge request: tests, then each location deployed to the branch
deployment, then clone_prod launched in production's db_ops with the MR iid; the branch environment's stop job (merged
or closed MR) marks the branch deployment closed and launches drop_prod_clone in production. Without the Dagster+
token (merge requests from forks) only the tests run. Which jobs a pipeline holds is decided by evaluating the
jobs' `rules:`; the scripts that launch runs are run for real (bash, python3) against the stand-in `dagster-cloud` on
PATH (tests/fake_dagster_cloud.py), which exits 0 on a failed run as the real CLI does.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.forge_stand_in import TOKEN as FORGE_TOKEN
from tests.forge_stand_in import ForgeState, Thread, forge

ROOT = Path(__file__).resolve().parents[1]
GITLAB_CI = ROOT / ".gitlab-ci.yml"
DEPLOY_WORKFLOW = ROOT / ".github" / "workflows" / "dagster-plus-deploy.yml"
RESERVED = {"variables", "stages", "workflow", "default", "include", "image", "services", "cache", "before_script"}
TOKEN = "$DAGSTER_CLOUD_API_TOKEN"
BRANCH_TOKEN = "$DAGSTER_CLOUD_BRANCH_DEPLOYMENT_TOKEN"
MR_PIPELINE = '$CI_PIPELINE_SOURCE == "merge_request_event"'
DEFAULT_BRANCH_PIPELINE = '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'
MR_RULE = f"{MR_PIPELINE} && {BRANCH_TOKEN}"
DEFAULT_BRANCH_RULE = f"{DEFAULT_BRANCH_PIPELINE} && {TOKEN}"
LAUNCH_SCRIPT = "deploy/ci/launch_run.py"
MR_IID = "42"
NO_WAITING = {"LAUNCH_RUN_INTERVAL_SECONDS": "0", "LAUNCH_RUN_RETRY_DELAY_SECONDS": "0"}


def config() -> dict[str, Any]:
    return yaml.safe_load(GITLAB_CI.read_text(encoding="utf-8"))


def resolved_jobs() -> dict[str, dict[str, Any]]:
    """Jobs with `extends` merged in (GitLab's deep merge of hashes; the job's own keys win)."""
    raw = config()

    def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
        return out

    def resolve(name: str) -> dict[str, Any]:
        job = raw[name]
        parents = job.get("extends", [])
        result: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            assert parent in raw, f"{name} extends unknown {parent}"
            result = merge(result, resolve(parent))
        return merge(result, {k: v for k, v in job.items() if k != "extends"})

    return {name: resolve(name) for name in raw if name not in RESERVED and not name.startswith(".")}


def script_text(job: dict[str, Any]) -> str:
    return "\n".join(job.get("before_script", []) + job.get("script", []))


def rule_conditions(job: dict[str, Any]) -> list[str]:
    return [rule.get("if", "") for rule in job.get("rules", [])]


def needed(job: dict[str, Any]) -> set[str]:
    return {need["job"] if isinstance(need, dict) else need for need in job.get("needs", [])}


# ---- which jobs a pipeline holds: GitLab's rules, evaluated ----
# Just what the file uses: $VARIABLE, "strings", null, ==, !=, &&, || and parentheses; anything else raises.

RULE_TOKEN = re.compile(r'\s*(?:(?P<var>\$\w+)|(?P<str>"[^"]*")|(?P<null>null\b)|(?P<op>==|!=|&&|\|\||[()]))')


def evaluate_rule(text: str, variables: dict[str, str]) -> bool:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = RULE_TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot parse rule at {text[pos:]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    position = 0

    def value() -> Any:
        nonlocal position
        kind, token = tokens[position]
        position += 1
        if token == "(":
            result = disjunction()
            position += 1
            return result
        if kind == "var":
            return variables.get(token[1:])
        return None if kind == "null" else token[1:-1]

    def comparison() -> Any:
        nonlocal position
        left = value()
        if position < len(tokens) and tokens[position][1] in ("==", "!="):
            op = tokens[position][1]
            position += 1
            return (left == value()) == (op == "==")
        if isinstance(left, bool):  # a parenthesised group
            return left
        return left not in (None, "")  # a variable alone: defined and not empty

    def conjunction() -> bool:
        nonlocal position
        result = comparison()
        while position < len(tokens) and tokens[position][1] == "&&":
            position += 1
            result = comparison() and result
        return result

    def disjunction() -> bool:
        nonlocal position
        result = conjunction()
        while position < len(tokens) and tokens[position][1] == "||":
            position += 1
            result = conjunction() or result
        return result

    return bool(disjunction())


def pipeline(variables: dict[str, str]) -> dict[str, str] | None:
    """job -> `when` of each job a pipeline with these variables holds; None when the workflow makes no pipeline."""
    if not any(evaluate_rule(rule["if"], variables) for rule in config()["workflow"]["rules"]):
        return None
    jobs = {}
    for name, job in resolved_jobs().items():
        rules = job.get("rules")
        if rules is None:
            jobs[name] = "on_success"
            continue
        for rule in rules:
            if evaluate_rule(rule.get("if", "true == true"), variables):
                jobs[name] = rule.get("when", "on_success")
                break
    return jobs


MERGE_REQUEST = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_DEFAULT_BRANCH": "trunk"}
DEFAULT_BRANCH_PUSH = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "trunk", "CI_DEFAULT_BRANCH": "trunk"}
# The tokens each pipeline sees: the protected production token reaches only the default branch's pipelines.
WITH_TOKEN = {"DAGSTER_CLOUD_BRANCH_DEPLOYMENT_TOKEN": "branch-token", "DAGSTER_CLOUD_API_TOKEN": "production-token"}
MR_TOKENS = {"DAGSTER_CLOUD_BRANCH_DEPLOYMENT_TOKEN": "branch-token"}
BRANCH_JOBS = {
    "deploy:branch:hn_assets",
    "deploy:branch:db_ops",
    "data-diff",
    "close-branch-deployment",
}
PRODUCTION_JOBS = {"deploy:production:hn_assets", "deploy:production:db_ops"}
SETUP_JOBS = {"initialize", "build:hn_assets", "build:db_ops"}


def test_rule_evaluator():
    variables = {"A": "x", "EMPTY": ""}
    assert evaluate_rule('$A == "x"', variables)
    assert evaluate_rule("$A", variables)
    assert not evaluate_rule("$EMPTY", variables)
    assert not evaluate_rule("$MISSING", variables)
    assert evaluate_rule("$MISSING == null", variables)
    assert evaluate_rule('$A == "y" || ($A != "y" && $A)', variables)
    assert not evaluate_rule('$A == "x" && $MISSING', variables)
    assert not evaluate_rule('$A == "x" && ($A == "y" || $EMPTY)', variables)
    assert evaluate_rule('$A == "x" && ($MISSING == null || $EMPTY)', variables)
    with pytest.raises(ValueError, match="cannot parse"):
        evaluate_rule("$A =~ /x/", variables)


def test_a_pipeline_of_a_fork_merge_request_run_in_this_project_is_marked_with_a_warning():
    # GitLab's predefined variables: CI_PROJECT_ID is where the pipeline runs, CI_MERGE_REQUEST_PROJECT_ID the target.
    fork = {**MERGE_REQUEST, **MR_TOKENS, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "9", "CI_MERGE_REQUEST_PROJECT_ID": "7"}
    run_here = {**fork, "CI_PROJECT_ID": "7"}
    in_the_fork = {**MERGE_REQUEST, "CI_PROJECT_ID": "9", "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "9"}
    in_the_fork["CI_MERGE_REQUEST_PROJECT_ID"] = "7"
    own = {**run_here, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "7"}
    assert "fork-merge-request-warning" in pipeline(run_here)
    assert "fork-merge-request-warning" not in pipeline(in_the_fork), "the fork's own pipeline holds nothing of ours"
    assert "fork-merge-request-warning" not in pipeline(own)
    job = resolved_jobs()["fork-merge-request-warning"]
    assert job["rules"][0]["allow_failure"] is True, "a warning: the pipeline goes on"
    assert job["script"][-1] == "exit 1"
    assert "DAGSTER_CLOUD_BRANCH_DEPLOYMENT_TOKEN" in job["script"][0]


def test_the_data_diff_job_outlasts_its_launches():
    """GitLab stops a job at its timeout without a word from the scripts: the job allows each launcher invocation its
    whole budget plus one CLI call and a minute, and ten minutes for the rest."""
    job = resolved_jobs()["data-diff"]
    launches = len(re.findall(r"launch_run\.py|launch_changed_assets\.py", script_text(job)))
    budget = int(job["variables"]["LAUNCH_RUN_TIMEOUT_SECONDS"])
    minutes = int(job["timeout"].removesuffix("m"))
    assert launches == 2
    assert minutes * 60 >= launches * (budget + 300 + 60) + 600


def test_the_close_job_reaches_an_organization_by_its_url_where_one_is_set():
    """`ci branch-deployment` prefers the organization (a US URL) to DAGSTER_CLOUD_URL: run the job's script with a
    recording `dagster-cloud` and see what it was given."""
    script = "\n".join(resolved_jobs()["close-branch-deployment"]["script"])
    recorder = '#!/bin/sh\necho "org=${DAGSTER_CLOUD_ORGANIZATION:-} url=${DAGSTER_CLOUD_URL:-}"\n'
    with tempfile.TemporaryDirectory() as bin_dir:
        Path(bin_dir, "dagster-cloud").write_text(recorder, encoding="utf-8")
        Path(bin_dir, "dagster-cloud").chmod(0o755)
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DAGSTER_PROJECT_DIR": ".", "DAGSTER_CLOUD_ORGANIZATION": "acme"}
        us = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
        eu_env = {**env, "DAGSTER_CLOUD_URL": "https://acme.eu.dagster.cloud"}
        eu = subprocess.run(["bash", "-c", script], env=eu_env, capture_output=True, text=True, check=True)
    assert us.stdout.strip() == "org=acme url="
    assert eu.stdout.strip() == "org= url=https://acme.eu.dagster.cloud"


def test_a_merge_request_deploys_its_branch_deployment_and_never_production():
    jobs = pipeline({**MERGE_REQUEST, **MR_TOKENS})
    assert set(jobs) == {"test", *SETUP_JOBS, *BRANCH_JOBS}
    assert jobs["close-branch-deployment"] == "manual", "run by GitLab when the MR is merged or closed"


def test_the_default_branch_deploys_production_whatever_its_name():
    assert set(pipeline({**DEFAULT_BRANCH_PUSH, **WITH_TOKEN})) == {"test", *SETUP_JOBS, *PRODUCTION_JOBS}
    assert pipeline({**DEFAULT_BRANCH_PUSH, **WITH_TOKEN, "CI_COMMIT_BRANCH": "main"}) is None
    assert pipeline({**DEFAULT_BRANCH_PUSH, **WITH_TOKEN, "CI_COMMIT_BRANCH": "feature"}) is None
    assert not re.search(r'"main"|\bmain\b', "\n".join(rule_conditions(config()["workflow"])))


def test_a_merge_request_without_its_token_runs_only_the_tests_and_a_job_says_why():
    """Merge requests from forks run without the project's variables: no Dagster+ job, nothing red."""
    assert set(pipeline(MERGE_REQUEST)) == {"test", "dagster-plus-skipped"}
    without = {**MERGE_REQUEST, "DAGSTER_CLOUD_BRANCH_DEPLOYMENT_TOKEN": ""}
    assert set(pipeline(without)) == {"test", "dagster-plus-skipped"}
    assert "nothing is deployed or compared" in script_text(resolved_jobs()["dagster-plus-skipped"]).lower()


def test_the_default_branch_fails_closed_without_the_production_token(fake_dagster_cloud):
    for variables in (DEFAULT_BRANCH_PUSH, {**DEFAULT_BRANCH_PUSH, **MR_TOKENS, "DAGSTER_CLOUD_API_TOKEN": ""}):
        assert set(pipeline(variables)) == {"test", "dagster-plus-missing-token"}
    completed = run_job("dagster-plus-missing-token", fake_dagster_cloud)
    assert completed.returncode != 0, "the pipeline is red"
    assert "Production not deployed: the protected CI/CD variable DAGSTER_CLOUD_API_TOKEN is missing" in (
        completed.stderr
    )
    assert resolved_jobs()["dagster-plus-missing-token"].get("allow_failure") is not True


def test_merge_request_jobs_use_the_branch_deployments_token_whatever_else_is_set(fake_dagster_cloud, tmp_path):
    """Even where a variable named DAGSTER_CLOUD_API_TOKEN reaches a merge request pipeline (a protected source
    branch), what the CLI is given is the branch deployments' token."""
    fake_dagster_cloud.plan("__ASSET_JOB", ["SUCCESS"], ["SUCCESS"])
    state = ForgeState()
    state.gitlab[("17", int(MR_IID))] = Thread()
    with forge(state) as url:
        completed = run_data_diff(fake_dagster_cloud, tmp_path, url, DAGSTER_CLOUD_API_TOKEN="production-token")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert {launch["token"] for launch in fake_dagster_cloud.launches()} == {"branch-token"}
    for name, job in resolved_jobs().items():
        if name in BRANCH_JOBS - {"data-diff"} and "dagster-cloud" in script_text(job):
            assert "DAGSTER_CLOUD_BRANCH_DEPLOYMENT_TOKEN" in "\n".join(job.get("before_script", [])), name


def test_every_dagster_plus_job_comes_after_the_tests():
    """Production deploys only tested commits; branch deployments wait for the tests too."""
    jobs = resolved_jobs()

    def upstream(name: str) -> set[str]:
        return set().union(*({need} | upstream(need) for need in needed(jobs[name]))) if needed(jobs[name]) else set()

    for name in SETUP_JOBS | PRODUCTION_JOBS | {"deploy:branch:hn_assets", "deploy:branch:db_ops", "data-diff"}:
        assert "test" in upstream(name), name


# ---- structure ----


def test_parses_and_references_resolve():
    raw = config()
    jobs = resolved_jobs()
    stages = raw["stages"]
    for name, job in jobs.items():
        assert job.get("stage", "test") in stages, name
        assert job.get("script"), name
        for target in needed(job):
            assert target in jobs, f"{name} needs unknown job {target}"
            assert stages.index(jobs[target].get("stage", "test")) <= stages.index(job.get("stage", "test"))
    assert rule_conditions(raw["workflow"]) == [MR_PIPELINE, DEFAULT_BRANCH_PIPELINE]


def test_every_script_line_is_valid_shell():
    for name, job in resolved_jobs().items():
        for line in job.get("before_script", []) + job.get("script", []):
            completed = subprocess.run(["sh", "-n", "-c", line], capture_output=True, text=True, check=False)
            assert completed.returncode == 0, f"{name}: {completed.stderr}\n{line}"


def test_each_location_is_built_and_deployed_on_its_own():
    jobs = resolved_jobs()
    for location in ("hn_assets", "db_ops"):
        build = jobs[f"build:{location}"]
        assert build["variables"]["LOCATION"] == location
        assert "deploy/$LOCATION/Dockerfile" in script_text(build)
        for kind, rule in (("branch", MR_RULE), ("production", DEFAULT_BRANCH_RULE)):
            deploy = jobs[f"deploy:{kind}:{location}"]
            assert deploy["variables"]["LOCATION"] == location
            assert rule_conditions(deploy) == [rule]
            assert f"build:{location}" in deploy["needs"]
            text = script_text(deploy)
            assert 'ci set-build-output --location-name="$LOCATION"' in text
            assert 'ci deploy --location-name="$LOCATION"' in text


def test_production_deploys_only_from_the_default_branch():
    for name, job in resolved_jobs().items():
        if "ci deploy" in script_text(job) and job.get("environment", {}).get("name") == "production":
            assert rule_conditions(job) == [DEFAULT_BRANCH_RULE], name


def test_dagster_cloud_action_image_is_the_release_the_github_workflow_pins():
    """One verified dagster-cloud-action release for both CI systems: the image its v1.13.7 action.yml runs."""
    image = config()["variables"]["DAGSTER_CLOUD_ACTION_IMAGE"]
    match = re.fullmatch(r"ghcr\.io/dagster-io/dagster-cloud-action:(\d+\.\d+\.\d+)", image)
    assert match
    tags = set(re.findall(r"dagster-io/dagster-cloud-action/\S+@[0-9a-f]{40} # v(\S+)", DEPLOY_WORKFLOW.read_text()))
    assert tags == {match.group(1)}


def test_the_data_diff_installs_the_cli_version_the_scripts_tests_model():
    assert config()["variables"]["DAGSTER_CLOUD_CLI_VERSION"] == importlib.metadata.version("dagster-cloud-cli")


@pytest.mark.parametrize(
    "name", ["DAGSTER_CLOUD_API_TOKEN", "REGISTRY_PASSWORD", "REGISTRY_USERNAME", "GITLAB_API_TOKEN"]
)
def test_secrets_are_not_in_the_file(name):
    assert name not in config().get("variables", {})


# ---- ci init: never production for a merge request ----


def rule_variables(job: dict[str, Any], condition: str) -> dict[str, str]:
    (rule,) = [rule for rule in job["rules"] if rule.get("if") == condition]
    return rule.get("variables", {})


def run_ci_init(tmp_path: Path, variables: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The initialize job's `ci init` line, run by the installed CLI in a GitLab-like environment.

    There is no CI_MERGE_REQUEST_IID, so the CLI cannot determine a branch deployment (offline, nothing to ask).
    """
    job = resolved_jobs()["initialize"]
    (line,) = [line for line in job["script"] if "ci init" in line]
    statedir = tmp_path / "statedir"
    env = {
        **{k: str(v) for k, v in config()["variables"].items()},
        **{k: str(v) for k, v in job.get("variables", {}).items()},
        **variables,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "GITLAB_CI": "true",
        "CI_COMMIT_SHA": "0" * 40,
        "CI_JOB_URL": "https://gitlab.example.com/acme/platform/-/jobs/1",
        "CI_PIPELINE_URL": "https://gitlab.example.com/acme/platform/-/pipelines/1",
        "CI_PROJECT_NAME": "platform",
        "CI_PROJECT_PATH": "acme/platform",
        "CI_PROJECT_URL": "https://gitlab.example.com/acme/platform",
        "DAGSTER_CLOUD_ORGANIZATION": "acme",
        "DAGSTER_CLOUD_API_TOKEN": "placeholder",
        "DAGSTER_BUILD_STATEDIR": str(statedir),
    }
    completed = subprocess.run(
        ["sh", "-c", line], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    return completed, statedir


def test_merge_request_init_never_falls_back_to_production(tmp_path):
    """`ci init --deployment=prod` deploys to prod when it cannot determine a branch deployment, unless required."""
    job = resolved_jobs()["initialize"]
    assert rule_conditions(job) == [MR_RULE, DEFAULT_BRANCH_RULE]
    merge_request = rule_variables(job, MR_RULE)
    assert "--require-branch-deployment" in merge_request.values()

    completed, statedir = run_ci_init(tmp_path / "mr", merge_request)
    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert not list(statedir.glob("location-*.json")), "no build session, so nothing to build or deploy"

    # The same line on the default branch: the fallback the flag prevents, and the production deploy.
    completed, statedir = run_ci_init(tmp_path / "main", rule_variables(job, DEFAULT_BRANCH_RULE))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for location in ("hn_assets", "db_ops"):
        session = json.loads((statedir / f"location-{location}.json").read_text(encoding="utf-8"))
        assert (session["deployment_name"], session["is_branch_deployment"]) == ("prod", False)


# ---- the jobs that launch runs, run for real against the stand-in CLI ----


def run_job(
    name: str, fake, extra: dict[str, str] | None = None, stand_ins: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The job's before_script and script as GitLab's bash shell runs them (-e, -o pipefail, in one shell), with a
    merge request's variables (and its branch deployments' token); a line holding a key of ``stand_ins`` is replaced
    by its value."""
    job = resolved_jobs()[name]
    variables = {
        **{k: str(v) for k, v in config()["variables"].items()},
        **{k: str(v) for k, v in job.get("variables", {}).items()},
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": MR_IID,
        "CI_COMMIT_SHA": COMMIT,
        **fake.env(),
        **MR_TOKENS,
        **NO_WAITING,
        **(extra or {}),
    }
    script = [*job.get("before_script", []), *job["script"]]
    lines = [next((new for old, new in (stand_ins or {}).items() if old in line), line) for line in script]
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", "\n".join(lines)],
        env=variables,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production(launch: dict[str, Any]) -> tuple[str, str, str, str]:
    return launch["job"], launch["deployment"], launch["location"], launch["repository"]


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_stop_job_marks_the_branch_deployment_closed_and_launches_nothing(fake_dagster_cloud):
    """Production's db_ops drops the clone once GitLab says the merge request is merged or closed."""
    jobs = resolved_jobs()
    branch_deploys = [jobs[f"deploy:branch:{location}"] for location in ("hn_assets", "db_ops")]
    environments = {job["environment"]["name"] for job in branch_deploys}
    (stop_name,) = {job["environment"]["on_stop"] for job in branch_deploys}
    stop = jobs[stop_name]
    assert stop["environment"] == {"name": environments.pop(), "action": "stop"}
    (rule,) = stop["rules"]
    assert (rule["if"], rule["when"], rule.get("allow_failure")) == (MR_RULE, "manual", True)
    completed = run_job(stop_name, fake_dagster_cloud)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert fake_dagster_cloud.closed_branch_deployments() == ["bd-1a2b3c"]
    assert fake_dagster_cloud.launches() == []


def test_production_deploys_of_a_location_never_overlap():
    jobs = resolved_jobs()
    groups = [jobs[f"deploy:production:{location}"].get("resource_group") for location in ("hn_assets", "db_ops")]
    assert groups == ["production-hn_assets", "production-db_ops"]


PLAN = {
    "runs": [{"assets": ["comments"], "partition_range": None}, {"assets": ["item_history"],
             "partition_range": ["2026-12-06-17:00", "2026-12-06-19:00"]}],
    "changed": {"comments": ["code_version"], "item_history": ["code_version"]},
    "removed": [],
}  # fmt: skip


def run_data_diff(fake, tmp_path: Path, gitlab_url: str, **more: str) -> subprocess.CompletedProcess[str]:
    """The data-diff job: its plan (the change's, tested in hn_assets) and its CLI install stood in for; the launches
    against the stand-in CLI; the report against a Dagster+ that cannot be reached and the GitLab stand-in."""
    state_dir = tmp_path / "build-state"
    state_dir.mkdir(parents=True)
    (state_dir / "location-hn_assets.json").write_text(json.dumps({"deployment_name": "bd-mr-42"}))
    (tmp_path / "plan.json").write_text(json.dumps(PLAN))
    extra = {
        "DAGSTER_BUILD_STATEDIR": str(state_dir),
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": "89abcdef0123456789abcdef0123456789abcdef",
        "DAGSTER_CLOUD_URL": "http://127.0.0.1:9",  # nothing listens: the report says so and still posts
        "GITLAB_API_TOKEN": FORGE_TOKEN,
        "CI_API_V4_URL": f"{gitlab_url}/api/v4",
        "CI_PROJECT_ID": "17",
        **more,
    }
    stand_ins = {
        "uv tool install": "true",
        "plan_changed_assets.sh": f'test "$CI_MERGE_REQUEST_DIFF_BASE_SHA" && cp {tmp_path / "plan.json"} '
        '"$DATA_DIFF_DIR/plan.json"',
    }
    return run_job("data-diff", fake, extra, stand_ins)


def test_the_change_runs_in_the_branch_deployment_and_one_note_reports_it(fake_dagster_cloud, tmp_path):
    job = resolved_jobs()["data-diff"]
    assert rule_conditions(job) == [MR_RULE]
    assert needed(job) == {"deploy:branch:db_ops", "deploy:branch:hn_assets", "initialize"}
    fake_dagster_cloud.plan("__ASSET_JOB", ["STARTED", "SUCCESS"], ["SUCCESS"])
    state = ForgeState()
    state.gitlab[("17", int(MR_IID))] = thread = Thread()

    with forge(state) as url:
        first = run_data_diff(fake_dagster_cloud, tmp_path / "first", url)
        second = run_data_diff(fake_dagster_cloud, tmp_path / "second", url)

    assert (first.returncode, second.returncode) == (0, 0), first.stdout + first.stderr
    launches = fake_dagster_cloud.launches()
    assert [(launch["deployment"], launch["location"], launch["job"]) for launch in launches] == [
        ("bd-mr-42", "hn_assets", "wait_for_clone"),
        ("bd-mr-42", "hn_assets", "__ASSET_JOB"),
        ("bd-mr-42", "hn_assets", "__ASSET_JOB"),
    ] * 2
    assert launches[0]["config"] == {"ops": {"clone_for_commit": {"config": {"commit": COMMIT}}}}
    assert [launch["asset_keys"] for launch in launches[1:3]] == [["comments"], ["item_history"]]
    assert {key: value for key, value in launches[2]["tags"].items() if key != "hn/ci_launch"} == {
        "gitlab/merge_request": MR_IID,
        "gitlab/sha": COMMIT,
        "dagster/asset_partition_range_start": "2026-12-06-17:00",
        "dagster/asset_partition_range_end": "2026-12-06-19:00",
    }
    (note,) = thread.comments
    assert note["body"].startswith("<!-- hn-data-diff -->\n## How this pull request changes the data")
    assert "2026-12-06-17:00 to 2026-12-06-19:00 | SUCCESS |" in note["body"]
    assert "could not be read" in note["body"], "what the report could not read, it says"


def test_a_merged_results_pipeline_waits_for_the_merge_request_s_head_not_the_merge_commit(
    fake_dagster_cloud, tmp_path
):
    head = "89abcdef89abcdef89abcdef89abcdef89abcdef"
    fake_dagster_cloud.plan("__ASSET_JOB", ["SUCCESS"], ["SUCCESS"])
    state = ForgeState()
    state.gitlab[("17", int(MR_IID))] = Thread()
    with forge(state) as url:
        completed = run_data_diff(fake_dagster_cloud, tmp_path, url, CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=head)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    wait, *runs = fake_dagster_cloud.launches()
    assert wait["config"] == {"ops": {"clone_for_commit": {"config": {"commit": head}}}}
    assert {run["tags"]["gitlab/sha"] for run in runs} == {head}


def test_a_failed_run_fails_the_data_diff_job_and_is_still_reported(fake_dagster_cloud, tmp_path):
    fake_dagster_cloud.plan("__ASSET_JOB", ["STARTED", "FAILURE"])
    state = ForgeState()
    state.gitlab[("17", int(MR_IID))] = thread = Thread()

    with forge(state) as url:
        completed = run_data_diff(fake_dagster_cloud, tmp_path, url)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert len(fake_dagster_cloud.launches()) == 2, "the wait, then no run after a failed one"
    (note,) = thread.comments
    assert "| FAILURE |" in note["body"]
    assert "| not launched | `item_history` | 2026-12-06-17:00 to 2026-12-06-19:00 | NOT_LAUNCHED |" in note["body"]


def test_a_note_that_cannot_be_posted_never_fails_the_data_diff_job(fake_dagster_cloud, tmp_path):
    fake_dagster_cloud.plan("__ASSET_JOB", ["SUCCESS"], ["SUCCESS"])
    completed = run_data_diff(fake_dagster_cloud, tmp_path, "http://127.0.0.1:9")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "The data diff was not posted on the merge request" in completed.stdout


def launching_jobs() -> dict[str, dict[str, Any]]:
    launching = re.compile(rf"{re.escape(LAUNCH_SCRIPT)}|\bdagster-cloud\s+(?:job|run)\b")
    return {name: job for name, job in resolved_jobs().items() if launching.search(script_text(job))}


def test_every_launch_goes_through_the_launch_script_to_the_branch_deployment():
    """Nothing in the pipeline launches in production: production's db_ops clones and drops by itself."""
    jobs = launching_jobs()
    assert set(jobs) == {"data-diff"}
    for name, job in jobs.items():
        text = script_text(job)
        assert not re.search(r"\bdagster-cloud\s+(?:job|run)\b", text), f"{name}: `job launch` exits 0 on a failed run"
        invocations = [line for line in text.replace("\\\n", " ").splitlines() if LAUNCH_SCRIPT in line]
        assert invocations, name
        for invocation in invocations:
            argv = shlex.split(invocation.split("||")[0])
            assert argv[:2] == ["python3", LAUNCH_SCRIPT]
            assert argv[argv.index("--deployment") + 1] == "$BRANCH_DEPLOYMENT"
            assert (argv[argv.index("--location") + 1], argv[argv.index("--job") + 1]) == (
                "hn_assets",
                "wait_for_clone",
            )


def test_no_job_clones_or_drops():
    """Production's db_ops does both, from the merge requests' states; a pipeline could only do it with a token
    that reaches production."""
    for name, job in resolved_jobs().items():
        assert not re.search(r"clone_prod|drop_prod_clone", script_text(job)), name


def test_launches_finish_before_their_job_times_out():
    for name, job in launching_jobs().items():
        attempts = re.search(r"--attempts (\d+)", script_text(job))
        attempts = int(attempts.group(1)) if attempts else 1
        variables = job.get("variables", {})
        run_timeout = float(variables.get("LAUNCH_RUN_TIMEOUT_SECONDS", 1800))
        retry_delay = float(variables.get("LAUNCH_RUN_RETRY_DELAY_SECONDS", 60))
        worst_case = attempts * run_timeout + (attempts - 1) * retry_delay + 5 * 60
        timeout = re.fullmatch(r"(\d+)m", job["timeout"])
        assert worst_case <= int(timeout.group(1)) * 60, name


def test_a_new_push_cancels_the_older_merge_request_pipeline_but_never_a_production_deploy():
    assert config()["workflow"]["auto_cancel"] == {"on_new_commit": "interruptible"}
    jobs = resolved_jobs()
    for name in BRANCH_JOBS - {"close-branch-deployment"}:
        assert jobs[name].get("interruptible") is True, name
    for name in PRODUCTION_JOBS:
        assert not jobs[name].get("interruptible"), name


def test_merge_request_jobs_on_the_branch_deployment_share_one_resource_group():
    jobs = resolved_jobs()
    branch_deploys = [jobs[f"deploy:branch:{location}"] for location in ("hn_assets", "db_ops")]
    stop = jobs[branch_deploys[0]["environment"]["on_stop"]]
    for job in [*branch_deploys, jobs["data-diff"], stop]:
        assert job.get("resource_group") == "mr-$CI_MERGE_REQUEST_IID"
    for name, job in jobs.items():
        if not any(MR_PIPELINE in condition for condition in rule_conditions(job)):
            assert "CI_MERGE_REQUEST_IID" not in str(job.get("resource_group", "")), name


def test_test_job_runs_ci_run():
    """`.ci/run` is the one definition of the checks (see test_github_workflows); the job provides uv and Node.js."""
    job = resolved_jobs()["test"]
    assert job["stage"] == "test"
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:[\d.]+-python3\.11-trixie", job["image"])  # Node.js 20 from apt
    assert job["script"] == ["bash .ci/run"]
    assert "rules" not in job, "every pipeline runs the tests, with or without the Dagster+ token"
    install = "\n".join(job.get("before_script", []))
    assert {"nodejs", "npm", "jq"} <= set(install.split())

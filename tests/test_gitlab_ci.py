""".gitlab-ci.yml: parses, its references resolve, and it encodes the branch deployment lifecycle.

Merge request: deploy each location to the branch deployment, then launch clone_prod in db_ops there; the branch
environment's stop job (merged or closed MR) launches drop_prod_clone. main: production deploys only. A merge request
never deploys to production, and its jobs that touch the branch deployment or its clone never run at the same time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GITLAB_CI = ROOT / ".gitlab-ci.yml"
RESERVED = {"variables", "stages", "workflow", "default", "include", "image", "services", "cache", "before_script"}
MR_RULE = '$CI_PIPELINE_SOURCE == "merge_request_event"'
MAIN_RULE = '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "main"'


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


def launches(job: dict[str, Any]) -> list[list[str]]:
    """The argv of every `dagster-cloud job launch` in a job's script."""
    found = []
    for line in job.get("script", []):
        flat = line.replace("\\\n", " ")
        for match in re.finditer(r"dagster-cloud job launch(.*?)(?:;|\n|$)", flat, re.DOTALL):
            found.append(shlex.split(match.group(1).replace("$", "")))
    return found


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_parses_and_references_resolve():
    raw = config()
    jobs = resolved_jobs()
    stages = raw["stages"]
    for name, job in jobs.items():
        assert job.get("stage", "test") in stages, name
        assert job.get("script"), name
        for need in job.get("needs", []):
            target = need["job"] if isinstance(need, dict) else need
            assert target in jobs, f"{name} needs unknown job {target}"
            assert stages.index(jobs[target].get("stage", "test")) <= stages.index(job.get("stage", "test"))
    assert [rule["if"] for rule in raw["workflow"]["rules"]] == [MR_RULE, MAIN_RULE]


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
        for kind, rule in (("branch", MR_RULE), ("production", MAIN_RULE)):
            deploy = jobs[f"deploy:{kind}:{location}"]
            assert deploy["variables"]["LOCATION"] == location
            assert rule_conditions(deploy) == [rule]
            assert f"build:{location}" in deploy["needs"]
            text = script_text(deploy)
            assert 'ci set-build-output --location-name="$LOCATION"' in text
            assert 'ci deploy --location-name="$LOCATION"' in text


def test_production_deploys_only_from_main():
    for name, job in resolved_jobs().items():
        if "ci deploy" in script_text(job) and job.get("environment", {}).get("name") == "production":
            assert rule_conditions(job) == [MAIN_RULE], name


def test_clone_runs_after_the_branch_deploy_in_db_ops():
    jobs = resolved_jobs()
    cloning = {
        name: job for name, job in jobs.items() if any(option(argv, "--job") == "clone_prod" for argv in launches(job))
    }
    assert list(cloning) == ["clone-prod"]
    job = cloning["clone-prod"]
    assert rule_conditions(job) == [MR_RULE], "merge requests only"
    needed = {need["job"] if isinstance(need, dict) else need for need in job["needs"]}
    assert {"deploy:branch:db_ops", "deploy:branch:hn_assets"} <= needed
    (argv,) = launches(job)
    assert option(argv, "--location") == "db_ops"
    assert option(argv, "--repository") == "__repository__"
    assert option(argv, "--deployment") == "DEPLOYMENT_NAME"
    assert "--wait" in argv
    assert "location-db_ops.json" in script_text(job), "the deployment the db_ops deploy went to"


def test_stop_job_closes_the_branch_deployment_and_drops_the_clone():
    jobs = resolved_jobs()
    branch_deploys = [jobs[f"deploy:branch:{location}"] for location in ("hn_assets", "db_ops")]
    environments = {job["environment"]["name"] for job in branch_deploys}
    stop_names = {job["environment"]["on_stop"] for job in branch_deploys}
    assert len(environments) == 1
    assert len(stop_names) == 1
    (stop_name,) = stop_names
    stop = jobs[stop_name]
    assert stop["environment"] == {"name": environments.pop(), "action": "stop"}
    (rule,) = stop["rules"]
    assert rule["if"] == MR_RULE
    assert rule["when"] == "manual"
    assert rule.get("allow_failure") is True
    text = script_text(stop)
    assert "ci branch-deployment" in text
    assert "--mark-closed" in text
    drops = launches(stop)
    assert drops, "the stop job launches drop_prod_clone"
    assert {option(a, "--job") for a in drops} == {"drop_prod_clone"}
    assert {option(a, "--location") for a in drops} == {"db_ops"}
    assert {option(a, "--deployment") for a in drops} == {"CLOSED_DEPLOYMENT", "PRODUCTION_DEPLOYMENT"}
    # In production the clone's name comes from the MR id, passed as run config.
    production = next(a for a in drops if option(a, "--deployment") == "PRODUCTION_DEPLOYMENT")
    assert '"pr_id"' in option(production, "--config-json")
    assert "CI_MERGE_REQUEST_IID" in option(production, "--config-json")


def test_no_job_drops_outside_the_stop_job():
    for name, job in resolved_jobs().items():
        if any(option(a, "--job") == "drop_prod_clone" for a in launches(job)):
            assert job.get("environment", {}).get("action") == "stop", name


def test_dagster_cloud_action_image_is_pinned():
    image = config()["variables"]["DAGSTER_CLOUD_ACTION_IMAGE"]
    assert re.fullmatch(r"ghcr\.io/dagster-io/dagster-cloud-action:\d+\.\d+\.\d+", image)


@pytest.mark.parametrize("name", ["DAGSTER_CLOUD_API_TOKEN", "REGISTRY_PASSWORD", "REGISTRY_USERNAME"])
def test_secrets_are_not_in_the_file(name):
    assert name not in config().get("variables", {})


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
    assert rule_conditions(job) == [MR_RULE, MAIN_RULE]
    merge_request = rule_variables(job, MR_RULE)
    assert "--require-branch-deployment" in merge_request.values()

    completed, statedir = run_ci_init(tmp_path / "mr", merge_request)
    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert not list(statedir.glob("location-*.json")), "no build session, so nothing to build or deploy"

    # The same line on main: the fallback the flag prevents, and main's production deploy.
    completed, statedir = run_ci_init(tmp_path / "main", rule_variables(job, MAIN_RULE))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for location in ("hn_assets", "db_ops"):
        session = json.loads((statedir / f"location-{location}.json").read_text(encoding="utf-8"))
        assert (session["deployment_name"], session["is_branch_deployment"]) == ("prod", False)


def test_merge_request_jobs_on_the_branch_deployment_share_one_resource_group():
    jobs = resolved_jobs()
    branch_deploys = [jobs[f"deploy:branch:{location}"] for location in ("hn_assets", "db_ops")]
    stop = jobs[branch_deploys[0]["environment"]["on_stop"]]
    for job in [*branch_deploys, jobs["clone-prod"], stop]:
        assert job.get("resource_group") == "mr-$CI_MERGE_REQUEST_IID"
    for name, job in jobs.items():
        if MR_RULE not in rule_conditions(job):
            assert "CI_MERGE_REQUEST_IID" not in str(job.get("resource_group", "")), name


def test_test_job_runs_ci_run():
    """`.ci/run` is the one definition of the checks (see test_github_workflows); the job provides uv and Node.js."""
    job = resolved_jobs()["test"]
    assert job["stage"] == "test"
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:[\d.]+-python3\.11-bookworm", job["image"])
    assert job["script"] == ["bash .ci/run"]
    install = "\n".join(job.get("before_script", []))
    assert {"nodejs", "npm", "jq"} <= set(install.split())

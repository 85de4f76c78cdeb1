"""A stand-in for the `dagster-cloud` executable (dagster-cloud-cli 1.13), for tests of the CI steps that call it.

It answers the commands the CI steps use the way the real CLI does, read in
`.venv/lib/python3.11/site-packages/dagster_cloud_cli/` (1.13.27; line numbers of that version):

- `job launch` (commands/job/__init__.py, `launch`, lines 19-117): without `--wait` prints the run id alone and
  exits 0 (line 117). With `--wait` (lines 93-114) prints "Run <id> launched, waiting for completion...", then "Run
  <id> is in progress (status: <S>)..." per query until SUCCESS, FAILURE or CANCELED, then "Run <id> finished
  successfully." or "Error: Run <id> failed with status '<S>'. Check the Dagster Cloud UI for more details." and
  **exits 0 either way**: `ui.error` (ui.py line 42) prints and returns the exit exception, and nothing raises it. A
  launch the server refuses raises `Exception("Unable to launch run: ...")` (gql.py line 721): with typer's pretty
  exceptions off (entrypoint.py line 86), a plain traceback on stderr and exit 1. `--tags` and `--config-json` go
  through `json.loads` (lines 68-69: a traceback and exit 1 when invalid); `--location` and `--job` are required and
  `--interval` is an integer (typer's usage errors, exit 2); `--repository` defaults to `__repository__` (line 71).
- `run status RUN_ID` (commands/run/__init__.py, lines 10-27): prints the status and exits 0; when the query fails
  (gql.py line 769 for an unknown run) prints "Error: Failed to get status for run <id>: <why>." and **still exits
  0**; without a run id "Error: No run_id provided", exit 1.
- `ci branch-deployment DIR --mark-closed` (commands/ci/__init__.py `branch_deployment`, lines 93-126): prints the
  branch deployment's name, or "Error: cannot determine branch deployment: ..." and exits 1.
- Options and their environment variables (config_utils.py `dagster_cloud_options`, lines 222-322, with
  `requires_url=True`, `allow_empty=True`): `--url`/`DAGSTER_CLOUD_URL`, else a URL from
  `--organization`/`DAGSTER_CLOUD_ORGANIZATION` and `--deployment`/`DAGSTER_CLOUD_DEPLOYMENT`; without a URL a missing
  token, organization or deployment is an "Error: ..." on stdout and exit 1. A missing token with a URL fails at the
  server (401).

`tests/test_launch_run.py` runs this stand-in and the real CLI (against a local Dagster+ GraphQL stand-in) side by
side and checks that they print the same lines and exit with the same codes.

What it does not model: time (it never sleeps, but where a plan says the call hangs; a run moves one status on per
query) and the network. Its state (the runs' planned statuses, every call) is a JSON file named by
`FAKE_DAGSTER_CLOUD_STATE`, locked while used; `tests/conftest.py` serves the same runs over GraphQL (`runsOrError`
by tags), as Dagster+ would to the script's own lookups.
The plan of a job is a list with one entry per launch: a list of statuses the run goes through, one per query (the
last repeats), where "STATUS_ERROR" stands for a failed query; or one of the failed launches:
- "LAUNCH_ERROR": the server answers a PythonError (a passing failure: nothing is created);
- "NOT_FOUND": the server answers PipelineNotFoundError (no such job or location: refused for good);
- "UNAUTHORIZED": the server answers HTTP 401 (the token may not launch there);
- ["HANG", statuses...]: the run is created, then the call hangs until killed;
- ["LOST", statuses...]: the run is created, then the answer is lost (a 502 after the CLI's retries);
- ["LATE", statuses...]: the answer is lost and the run shows up only later (Dagster+ still creating it when
  the call gave up): the first lookup finds nothing, a later one finds it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")
LAUNCH_ERROR = "LAUNCH_ERROR"
STATUS_ERROR = "STATUS_ERROR"
NOT_FOUND = "NOT_FOUND"
UNAUTHORIZED = "UNAUTHORIZED"
# A first status that says how the launch call ends after Dagster+ created the run.
HANG, LOST, LATE = "HANG", "LOST", "LATE"


class UsageError(Exception):
    """Typer's usage errors: "Usage: ..." and the reason on stderr, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


@contextmanager
def state():
    path = Path(os.environ["FAKE_DAGSTER_CLOUD_STATE"])
    with open(path.with_suffix(".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            yield data
        finally:
            path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def error(message: str, code: int = 1) -> int:
    """ui.error: "Error: <message>" on stdout (a plain print); the caller decides whether it exits with `code`."""
    print(f"Error: {message}")
    return code


def add_cloud_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--organization", default=os.environ.get("DAGSTER_CLOUD_ORGANIZATION"))
    parser.add_argument("-d", "--deployment", default=os.environ.get("DAGSTER_CLOUD_DEPLOYMENT"))
    parser.add_argument("-u", "--api-token", "--user-token", default=os.environ.get("DAGSTER_CLOUD_API_TOKEN"))
    parser.add_argument("--url", default=os.environ.get("DAGSTER_CLOUD_URL"))


def resolve_url(args: argparse.Namespace) -> str | None:
    """dagster_cloud_options(requires_url=True, allow_empty=True): None after printing why (exit 1)."""
    url = args.url
    if not url and args.organization and args.deployment:
        url = f"https://{args.organization}.dagster.cloud/{args.deployment}"
    if url:
        return url
    if not args.api_token:
        error("A Dagster Cloud user token must be specified for this command.")
    elif not args.organization:
        error("A Dagster Cloud organization must be specified for this command.")
    else:
        error("A Dagster Cloud deployment must be specified for this command.")
    return None


def record(data: dict[str, Any], argv: list[str], deployment: str | None) -> None:
    data["calls"].append({"argv": argv, "deployment": deployment})


def next_status(data: dict[str, Any], run_id: str, args: argparse.Namespace) -> str:
    """gql.run_status: the run's next status, or raises as the CLI's GraphQL client does."""
    if not args.api_token:
        raise Exception("401 Client Error: Unauthorized")
    run = data["runs"].get(run_id)
    if run is None or run["deployment"] != args.deployment:
        raise Exception("Unable to fetch run status: {'runOrError': {'__typename': 'RunNotFoundError'}}")
    statuses = run["statuses"]
    status = statuses[min(run["queries"], len(statuses) - 1)]
    run["queries"] += 1
    data["status_queries"].append({"run_id": run_id, "answer": status})
    if status == STATUS_ERROR:
        raise Exception("HTTPSConnectionPool: Read timed out.")
    return status


def raise_refusal(plan: str, args: argparse.Namespace) -> None:
    """How the CLI fails on each refusal: gql.launch_run quotes a LaunchRunResult error; a 401 comes from
    requests' raise_for_status (graphql_client.py), wrapped in DagsterCloudHTTPError."""
    if plan == UNAUTHORIZED:
        raise Exception(f"401 Client Error: Unauthorized for url: {args.url or 'https://dagster.cloud'}/graphql")
    if plan == NOT_FOUND:
        error = {"__typename": "PipelineNotFoundError", "message": f"Could not find Pipeline {args.job}"}
    else:
        error = {"__typename": "PythonError", "message": "launch refused", "stack": []}
    raise Exception(f"Unable to launch run: { {'data': {'launchRun': error}} }")


def job_launch(argv: list[str]) -> int:
    parser = Parser(prog="dagster-cloud job launch")
    add_cloud_options(parser)
    parser.add_argument("-l", "--location", required=True)
    parser.add_argument("-j", "--job", required=True)
    parser.add_argument("-r", "--repository", default=None)
    parser.add_argument("--tags", default=None)
    parser.add_argument("--config-json", default=None)
    parser.add_argument("--asset-key", action="append", default=None)
    parser.add_argument("-w", "--wait", action="store_true")
    parser.add_argument("-i", "--interval", type=int, default=30)
    args = parser.parse_args(argv)
    url = resolve_url(args)
    if url is None:
        return 1
    tags = json.loads(args.tags) if args.tags else {}
    config = json.loads(args.config_json) if args.config_json else {}
    repository = args.repository or "__repository__"
    with state() as data:
        record(data, ["job", "launch", *argv], args.deployment)
        plans = data["plans"].get(args.job) or []
        plan = plans.pop(0) if plans else data["default_plan"]
        launch = {
            "deployment": args.deployment,
            "location": args.location,
            "repository": repository,
            "job": args.job,
            "tags": tags,
            "config": config,
            "asset_keys": args.asset_key or [],
            "token": args.api_token,
            "wait": args.wait,
        }
        if not args.api_token:
            data["launches"].append({**launch, "run_id": None})
            raise Exception("401 Client Error: Unauthorized")
        if plan in (LAUNCH_ERROR, NOT_FOUND, UNAUTHORIZED):
            data["launches"].append({**launch, "run_id": None})
            raise_refusal(plan, args)
        ending = plan[0] if plan and plan[0] in (HANG, LOST, LATE) else None
        statuses = plan[1:] if ending else plan
        run_id = str(uuid.uuid4())
        data["runs"][run_id] = {**launch, "statuses": statuses, "queries": 0, "created": len(data["runs"])}
        if ending == LATE:
            data["runs"][run_id]["hidden_lookups"] = 1  # the conftest's runsOrError skips it this many times
        data["launches"].append({**launch, "run_id": run_id})
    if ending == HANG:
        time.sleep(3600)
    if ending in (LOST, LATE):
        with state() as data:
            lost = data.get("lost_message")
        if lost:
            raise Exception(lost)
        # graphql_client.py _retry_loop, after job launch's retries of a 502 (DAGSTER_CLOUD_JOB_LAUNCH_RETRIES: 5).
        raise Exception("Max retries (5) exceeded, too many 502 error responses.")
    if not args.wait:
        print(run_id)
        return 0
    print(f"Run {run_id} launched, waiting for completion...")
    status = None
    while True:
        try:
            with state() as data:
                status = next_status(data, run_id, args)
        except Exception as exc:
            error(f"Failed to get status for run {run_id}: {exc}.")
        if status in TERMINAL:
            break
        print(f"Run {run_id} is in progress (status: {status})...")
    if status == "SUCCESS":
        print(f"Run {run_id} finished successfully.")
    else:
        error(f"Run {run_id} failed with status '{status}'. Check the Dagster Cloud UI for more details.")
    return 0


def run_status(argv: list[str]) -> int:
    parser = Parser(prog="dagster-cloud run status")
    add_cloud_options(parser)
    parser.add_argument("run_id", nargs="?", default=None)
    args = parser.parse_args(argv)
    if resolve_url(args) is None:
        return 1
    if not args.run_id:
        return error("No run_id provided")
    with state() as data:
        record(data, ["run", "status", *argv], args.deployment)
        try:
            print(next_status(data, args.run_id, args))
        except Exception as exc:
            error(f"Failed to get status for run {args.run_id}: {exc}.")
    return 0


def ci_branch_deployment(argv: list[str]) -> int:
    parser = Parser(prog="dagster-cloud ci branch-deployment")
    parser.add_argument("project_dir")
    parser.add_argument("--mark-closed", action="store_true")
    parser.add_argument("--read-only", action="store_true")
    args = parser.parse_args(argv)
    with state() as data:
        record(data, ["ci", "branch-deployment", *argv], None)
        name = data["branch_deployment"]
        if name and args.mark_closed:
            data["closed_branch_deployments"].append(name)
    if not name:
        return error("cannot determine branch deployment: could not determine branch deployment for PR")
    print(name)
    return 0


COMMANDS = {
    ("job", "launch"): job_launch,
    ("run", "status"): run_status,
    ("ci", "branch-deployment"): ci_branch_deployment,
}


def main(argv: list[str]) -> int:
    command = COMMANDS.get(tuple(argv[:2]))
    if command is None:
        print(f"Usage: dagster-cloud [OPTIONS] COMMAND [ARGS]...\nError: No such command {argv[:2]}", file=sys.stderr)
        return 2
    try:
        return command(argv[2:])
    except UsageError as usage:
        print(f"Usage: dagster-cloud {' '.join(argv[:2])} [OPTIONS]\nError: {usage}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()  # typer with pretty_exceptions_enable=False: the plain traceback, exit 1
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

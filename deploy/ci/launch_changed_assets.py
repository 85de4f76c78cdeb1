"""Launch the runs of a pull request's change in its branch deployment, one after another, each waited for.

    python3 deploy/ci/launch_changed_assets.py --plan plan.json --deployment <branch deployment> \\
        --location hn_assets --runs runs.json [--tags '{"github/pull_request": "42"}']

``plan.json`` is what ``python -m hn_assets.changes plan`` prints: ``runs``, each a list of assets and, for
partitioned ones, the range of recent partitions to run. Each run goes through launch_run.py's launch and wait (the
asset job ``__ASSET_JOB`` with the assets selected, their checks included; a partition range as one run), in the
plan's order (unpartitioned assets first), so that a run never reads what a later run is still to write.

``runs.json`` gets one entry per planned run, launched or not: the assets, the partition range, the run's id, URL and
final status, and launch_run's message. The report (data_diff_report.py) reads it.

``LAUNCH_RUN_TIMEOUT_SECONDS`` is the budget of the whole plan, launches and waits (launch_run.py's timing): the CI
step's timeout is that budget plus one CLI call's worth. Each run carries its own launch key, so a re-run of the CI
job follows the runs its earlier attempt left going or succeeded instead of launching them again.

Exit status: 0 when every run succeeded (or the change touches no asset), 1 when any did not (a failed run fails the
pull request's check), 2 on bad input, before anything is launched. After a run that did not succeed the rest are
not launched: their inputs may be missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import launch_run
from launch_run import ASSET_JOB, BAD_INPUT, SUCCEEDED, InvalidInputError, Launch, Outcome


def read_plan(path: Path) -> list[dict[str, Any]]:
    """The plan's runs, checked: each names its assets, and a partition range is two keys."""
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"cannot read the plan {path}: {error}") from None
    runs = plan.get("runs") if isinstance(plan, dict) else None
    if not isinstance(runs, list):
        raise InvalidInputError(f"{path} is not a plan: it has no list 'runs' (python -m hn_assets.changes plan)")
    for number, run in enumerate(runs, 1):
        assets, partition_range = run.get("assets"), run.get("partition_range")
        if not assets or not all(isinstance(asset, str) and asset for asset in assets):
            raise InvalidInputError(f"run {number} of {path} names no assets: {run}")
        if partition_range is not None and (len(partition_range) != 2 or not all(partition_range)):
            raise InvalidInputError(f"run {number} of {path}: partition_range must be [first, last]: {run}")
    return runs


def request_for(run: dict[str, Any], deployment: str, location: str, tags_json: str) -> Launch:
    if run.get("partition_range"):
        tags_json = launch_run.with_partition_range(tags_json, "...".join(run["partition_range"]))
    return Launch(
        deployment=deployment,
        location=location,
        repository="__repository__",
        job=ASSET_JOB,
        config_json="{}",
        tags_json=tags_json,
        asset_keys=tuple(run["assets"]),
    )


def entry(run: dict[str, Any], outcome: Outcome | None) -> dict[str, Any]:
    launched = {key: run.get(key) for key in ("assets", "partition_range", "partition_keys")}
    if outcome is None:
        return {**launched, "run_id": "", "url": "", "status": "NOT_LAUNCHED", "message": "not launched (yet)"}
    return {**launched, "run_id": outcome.run_id, "url": outcome.url, "status": outcome.status or "NOT_LAUNCHED",
            "message": outcome.message}  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--deployment", required=True, help="the pull request's branch deployment")
    parser.add_argument("--location", required=True, help="the code location of the assets")
    parser.add_argument("--runs", type=Path, required=True, help="where to write what was launched")
    parser.add_argument("--tags", default="{}", help="tags of every run, a JSON object of strings")
    args = parser.parse_args(argv)
    try:
        if not args.deployment.strip():
            raise InvalidInputError("--deployment is empty: which branch deployment should the runs go to?")
        runs = read_plan(args.plan)
        tags_json = launch_run.json_object(args.tags, "--tags", string_values=True)
        requests = [request_for(run, args.deployment, args.location, tags_json) for run in runs]
        timing = launch_run.timing_from_environment()
        base_url = launch_run.organization_url()
        if requests and shutil.which(launch_run.CLI) is None:
            raise InvalidInputError(f"{launch_run.CLI} is not on PATH: install dagster-cloud-cli")
    except InvalidInputError as error:
        launch_run.report(Outcome(BAD_INPUT, f"nothing launched: {error}"))
        return BAD_INPUT
    if not requests:
        print("The change touches no asset: nothing to run in the branch deployment.")
    outcomes: list[Outcome | None] = [None] * len(requests)
    record(args.runs, runs, outcomes)
    for index, request in enumerate(requests):
        scope = launch_run.ci_scope(dict(os.environ))
        outcomes[index] = launch_run.run_with_retries(request, base_url, timing, attempts=1, scope=scope)
        record(args.runs, runs, outcomes)
        launch_run.report(outcomes[index], step_outputs=False)
        if outcomes[index].code != SUCCEEDED:
            break
    return SUCCEEDED if all(o is not None and o.code == SUCCEEDED for o in outcomes) else launch_run.FAILED


def record(path: Path, runs: list[dict[str, Any]], outcomes: list[Outcome | None]) -> None:
    """What is known so far, after each run: a job stopped mid-way (timed out, cancelled) still leaves the report
    the runs that finished."""
    path.write_text(json.dumps([entry(r, o) for r, o in zip(runs, outcomes, strict=True)], indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

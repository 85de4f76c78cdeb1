"""The pull request's data report: what its change ran in the branch deployment and how each table now differs from
production's data, posted as one comment (a merge request note on GitLab) that every push updates in place.

    python3 deploy/ci/data_diff_report.py --plan plan.json --runs runs.json --deployment <branch deployment> \\
        --production prod --commit <head sha> --post github --pull-request 42 [--output report.md]

It reads, from Dagster+'s GraphQL API (dagster_plus_graphql.py), the check evaluations of each run in ``runs.json``
(written by launch_changed_assets.py): every ``<asset>_differs_from_base`` check's Markdown diff and the clone's
record (which commit it was made for, and when), and every check that did not pass. It then asks production when
each changed asset was last materialized, to say when the clone is older than production's data; a token that
cannot read production only loses that line.

A diff is information: this script never fails because of what the data shows. It exits 0 once the report is
posted (or written, with ``--post none``), 1 when the forge refused it or could not be reached, 2 on bad input or
missing settings, listed by name (Dagster+'s before any request; the forge's after the report is printed, so the
log holds it all the same).

Settings, from the environment: ``DAGSTER_CLOUD_API_TOKEN`` and ``DAGSTER_CLOUD_URL`` or
``DAGSTER_CLOUD_ORGANIZATION``; for ``--post github``: ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and
``GITHUB_API_URL`` (all set on GitHub's runners but the token); for ``--post gitlab``: ``GITLAB_API_TOKEN``,
``CI_API_V4_URL``, ``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID``.

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster_plus_graphql import CheckEvaluation, DagsterPlus, GraphQLError
from pull_request_comment import Forge, ForgeError, upsert

MARKER = "<!-- hn-data-diff -->"
DIFF_SUFFIX = "_differs_from_base"
POSTED, NOT_POSTED, BAD_INPUT = 0, 1, 2


@dataclass
class Findings:
    """What the report says, gathered before it is written."""

    commit: str
    deployment: str
    changed: dict[str, list[str]]
    removed: list[str]
    runs: list[dict[str, Any]]
    evaluations: dict[str, list[CheckEvaluation]] = field(default_factory=dict)
    production_latest: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def gather(findings: Findings, branch: DagsterPlus, production: DagsterPlus) -> Findings:
    for run in findings.runs:
        if not run.get("run_id"):
            continue
        try:
            findings.evaluations[run["run_id"]] = branch.check_evaluations(run["run_id"])
        except GraphQLError as error:
            findings.warnings.append(f"The checks of run `{run['run_id'][:8]}` could not be read: {error}")
    try:
        for run in findings.runs:
            # Only the partitions the run compares: production writing other hours does not age this diff.
            partitions = run.get("partition_keys") or None
            findings.production_latest |= production.latest_materializations(sorted(run["assets"]), partitions)
    except GraphQLError as error:
        findings.warnings.append(
            f"Production's latest materializations could not be read, so the clone's age is not compared "
            f"with them: {error}"
        )
    findings.warnings += clone_warnings(findings)
    return findings


def diffs_by_run(findings: Findings) -> list[tuple[dict[str, Any], CheckEvaluation]]:
    """Every diff check of the runs, with its run, in the runs' order."""
    return [
        (run, evaluation)
        for run in findings.runs
        for evaluation in findings.evaluations.get(run.get("run_id", ""), [])
        if evaluation.check_name.endswith(DIFF_SUFFIX)
    ]


def diffs(findings: Findings) -> list[CheckEvaluation]:
    return [evaluation for _, evaluation in diffs_by_run(findings)]


def clone_warnings(findings: Findings) -> list[str]:
    """Whether the clone serves this push, and whether production has moved on since it was made."""
    records = {(e.metadata.get("clone_commit") or "", e.metadata.get("cloned_at")) for e in diffs(findings)}
    problems = {e.metadata["clone_problem"] for e in diffs(findings) if e.metadata.get("clone_problem")}
    warnings = sorted(problems)
    for commit, cloned_at in sorted(records, key=str):
        if commit and not findings.commit.startswith(commit) and not commit.startswith(findings.commit):
            warnings.append(
                f"The clone was made for commit `{commit[:12]}`, not for this push (`{findings.commit[:12]}`): "
                "its base may not be the production data this push was compared with."
            )
        if cloned_at is None:
            continue
        for asset, materialized in sorted(findings.production_latest.items()):
            if materialized > float(cloned_at):
                warnings.append(
                    f"Production materialized `{asset}` at {when(materialized)}, after the clone was made "
                    f"({when(float(cloned_at))}): the base is older than production. Push again, or launch "
                    "`clone_prod` for this pull request, to compare with today's data."
                )
    return warnings


def when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(findings: Findings) -> str:
    cloned = sorted({float(e.metadata["cloned_at"]) for e in diffs(findings) if e.metadata.get("cloned_at")})
    as_of = f", made {when(cloned[-1])}" if cloned else ""
    lines = [
        "## How this pull request changes the data",
        "",
        f"Commit `{findings.commit[:12]}` in the branch deployment `{findings.deployment}`, compared with "
        f"production's tables as of the clone (`HACKER_NEWS_BASE`{as_of}).",
        "",
    ]
    if not findings.changed and not findings.removed:
        lines += ["This change touches no asset's definition: nothing ran, and the data is production's.", ""]
    if findings.changed:
        reasons = ", ".join(f"`{asset}` ({'; '.join(why)})" for asset, why in findings.changed.items())
        lines += [f"**Changed**: {reasons}.", ""]
    if findings.removed:
        removed = ", ".join(f"`{asset}`" for asset in findings.removed)
        lines += [f"**Removed**: {removed}: nothing runs it any more; its table stays until dropped by hand.", ""]
    if findings.runs:
        lines += ["| Run | Assets | Partitions | Status |", "|---|---|---|---|"]
        for run in findings.runs:
            link = f"[`{run['run_id'][:8]}`]({run['url']})" if run.get("run_id") else "not launched"
            partitions = " to ".join(run["partition_range"]) if run.get("partition_range") else ""
            assets = ", ".join(f"`{asset}`" for asset in run["assets"])
            lines.append(f"| {link} | {assets} | {partitions} | {run['status']} |")
        lines.append("")
    lines += [f"> **Note**: {warning}" for warning in findings.warnings]
    lines += [""] if findings.warnings else []
    for run, evaluation in diffs_by_run(findings):
        lines += [str(evaluation.metadata.get("diff") or evaluation.metadata.get("problem", "")), ""]
        compared = evaluation.partition or " to ".join(run.get("partition_range") or ())
        if compared:
            lines[-2] += f"\n\n_Partitions compared: {compared}._"
    failed = [e for run in findings.runs for e in findings.evaluations.get(run.get("run_id", ""), []) if not e.passed]
    if failed:
        lines += ["**Checks that did not pass**", "", "| Check | Asset | Partition | Severity |", "|---|---|---|---|"]
        lines += [f"| `{e.check_name}` | `{e.asset}` | {e.partition or ''} | {e.severity} |" for e in failed]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def forge_from_environment(post: str, pull_request: str | None, environ: dict[str, str]) -> Forge | None:
    """The forge to post on, or None for ``--post none``; raises ValueError listing every missing setting."""
    if post == "none":
        return None
    names = {
        "github": ["GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL"],
        "gitlab": ["GITLAB_API_TOKEN", "CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID"],
    }[post]
    missing = [name for name in names if not environ.get(name)]
    if post == "github" and not (pull_request or "").isdigit():
        missing.append("--pull-request (the pull request's number)")
    if missing:
        raise ValueError(f"missing settings to post on {post}: {', '.join(missing)}")
    if post == "github":
        return Forge.github(environ["GITHUB_API_URL"], environ["GITHUB_REPOSITORY"], int(pull_request or 0),
                            environ["GITHUB_TOKEN"])  # fmt: skip
    return Forge.gitlab(environ["CI_API_V4_URL"], environ["CI_PROJECT_ID"], int(environ["CI_MERGE_REQUEST_IID"]),
                        environ["GITLAB_API_TOKEN"])  # fmt: skip


def read_inputs(plan_path: Path, runs_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read the plan {plan_path}: {error}") from None
    if not isinstance(plan, dict) or not {"changed", "removed"} <= plan.keys():
        raise ValueError(f"{plan_path} is not a plan (python -m hn_assets.changes plan)")
    runs: list[dict[str, Any]] = []
    if runs_path.exists():  # absent when nothing was launched (say the launch step had bad input)
        try:
            runs = json.loads(runs_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"cannot read the runs {runs_path}: {error}") from None
    return plan, runs


def main(argv: list[str], environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--deployment", required=True, help="the pull request's branch deployment")
    parser.add_argument("--production", required=True, help="production's deployment, e.g. prod")
    parser.add_argument("--commit", required=True, help="the pushed commit")
    parser.add_argument("--post", choices=("github", "gitlab", "none"), default="none")
    parser.add_argument("--pull-request", help="the pull request's number (GitHub)")
    parser.add_argument("--output", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    try:
        plan, runs = read_inputs(args.plan, args.runs)
        missing = [name for name in ("DAGSTER_CLOUD_API_TOKEN",) if not environ.get(name)]
        if not environ.get("DAGSTER_CLOUD_URL") and not environ.get("DAGSTER_CLOUD_ORGANIZATION"):
            missing.append("DAGSTER_CLOUD_ORGANIZATION (or DAGSTER_CLOUD_URL)")
        if missing:
            raise ValueError(f"missing environment variables: {', '.join(missing)}")
    except ValueError as error:
        print(f"error: no report: {error}", file=sys.stderr)
        return BAD_INPUT
    findings = Findings(args.commit, args.deployment, plan["changed"], plan["removed"], runs)
    report = render(gather(findings, DagsterPlus(args.deployment, environ), DagsterPlus(args.production, environ)))
    print(report)
    for path in (args.output, Path(environ["GITHUB_STEP_SUMMARY"]) if environ.get("GITHUB_STEP_SUMMARY") else None):
        if path is not None:
            with open(path, "a", encoding="utf-8") as out:
                out.write(report)
    try:  # after the report: the log holds it even when it cannot be posted
        forge = forge_from_environment(args.post, args.pull_request, environ)
    except ValueError as error:
        print(f"error: the report was not posted: {error}", file=sys.stderr)
        return BAD_INPUT
    if forge is None:
        return POSTED
    try:
        action, comment_id = upsert(forge, MARKER, report)
    except ForgeError as error:
        print(f"error: the report was not posted: {error}", file=sys.stderr)
        return NOT_POSTED
    print(f"The report {action} comment {comment_id} on {forge.name}.")
    return POSTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

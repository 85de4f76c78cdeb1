"""Launch a Dagster+ job, wait for its run to finish, and exit non-zero unless the run succeeded.

    python3 deploy/ci/launch_run.py --deployment prod --location db_ops --job clone_prod \\
        --config-json '{"ops": {"clone_production_database": {"config": {"pr_id": "42"}}}}' \\
        [--repository __repository__] [--tags '{"github/pull_request": "42"}'] [--attempts 2]
    python3 deploy/ci/launch_run.py --deployment <branch deployment> --location hn_assets --job __ASSET_JOB \\
        --asset-key item_history [--asset-key ...] [--partition-range 2026-12-06-17:00...2026-12-06-19:00]

``--asset-key`` selects assets of the job (``__ASSET_JOB`` is the job of every asset of a location; the run includes
the selected assets' checks), as the CLI's own option does (gql.py ``launch_run``: ``assetSelection``).
``--partition-range FIRST...LAST`` runs that range in one run, through the tags ``dg launch --partition-range`` sets
(``dagster/asset_partition_range_start`` and ``_end``; the assets need a single-run backfill policy); a range of one
partition, ``KEY...KEY``, is the run of that partition (the tag ``dagster/partition``, as ``dg launch --partition``).

Every CI step of this repository that launches a run goes through this script, because the stock tools report a
failed run as a success: ``dagster-cloud job launch --wait`` prints "Run ... failed with status 'FAILURE'" and exits
0 (dagster_cloud_cli/commands/job/__init__.py: ``ui.error`` builds the exit exception but the command never raises
it), and dagster-cloud-action's ``run`` action (src/run.sh) only looks for a run id in that output. So the script
launches without ``--wait``, polls ``dagster-cloud run status`` itself (which also exits 0 when the query fails and
prints ``Error: Failed to get status ...``), and decides from the run's final status:

    exit 0  the run succeeded (SUCCESS)
    exit 1  the run failed (FAILURE)
    exit 2  bad input or setup: nothing was launched
    exit 3  the run was canceled (CANCELED)
    exit 4  the run did not finish in time; it goes on in Dagster+
    exit 5  the launch failed (dagster-cloud job launch exited non-zero or printed no run id)
    exit 6  the run's status could not be read, several times in a row

Each outcome prints its own message, with the run's URL. With ``--attempts N`` a failed run or a failed launch is
retried (a fresh run after a delay), never a canceled run (someone stopped it on purpose), a timed out one or one
whose status is unknown (both may still be running).

Environment: ``DAGSTER_CLOUD_API_TOKEN`` and ``DAGSTER_CLOUD_ORGANIZATION`` (or ``DAGSTER_CLOUD_URL``, the
organization's URL such as ``https://acme.dagster.cloud``), read by the CLI too; timing, in seconds:
``LAUNCH_RUN_INTERVAL_SECONDS`` between status queries (default 10), ``LAUNCH_RUN_TIMEOUT_SECONDS`` per run (default
1800), ``LAUNCH_RUN_RETRY_DELAY_SECONDS`` before a retry (default 60). On GitHub Actions the outcome is also an
annotation, the step outputs ``run_id``, ``run_url`` and ``status``, and a line of the job summary.

Standard library only: it runs in the dagster-cloud-action image (GitLab) and on GitHub's runners, beside the
``dagster-cloud`` executable of dagster-cloud-cli.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

CLI = "dagster-cloud"
# DagsterRunStatus (dagster/_core/storage/dagster_run.py); the three terminal ones end the wait.
TERMINAL_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
RUNNING_STATUSES = ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED", "CANCELING")
# Dagster run ids are str(uuid.uuid4()).
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Status queries that may fail in a row before the run counts as unreadable (the CLI retries each one already).
STATUS_ERRORS_ALLOWED = 5
# A CLI call that hangs longer than this is killed (its own HTTP retries take far less).
CLI_CALL_TIMEOUT_SECONDS = 300

SUCCEEDED, FAILED, BAD_INPUT, CANCELED, TIMED_OUT, LAUNCH_FAILED, STATUS_UNKNOWN = 0, 1, 2, 3, 4, 5, 6
RETRIED_OUTCOMES = (FAILED, LAUNCH_FAILED)


class InvalidInputError(Exception):
    """Input or setup that makes launching pointless: reported before anything is launched."""


# dagster/_core/storage/tags.py: ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG, PARTITION_NAME_TAG.
PARTITION_RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
PARTITION_TAG = "dagster/partition"
ASSET_JOB = "__ASSET_JOB"


@dataclass(frozen=True)
class Launch:
    deployment: str
    location: str
    repository: str
    job: str
    config_json: str
    tags_json: str
    asset_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timing:
    interval: float
    timeout: float
    retry_delay: float


@dataclass(frozen=True)
class Outcome:
    code: int
    message: str
    run_id: str = ""
    url: str = ""
    status: str = ""


def json_object(text: str, option: str, string_values: bool = False) -> str:
    """The option's JSON, checked the way Dagster+ will read it: an object (tags: of strings)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{option} is not valid JSON ({error}): {text}") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{option} must be a JSON object, got {type(value).__name__}: {text}")
    if string_values:
        wrong = sorted(key for key, item in value.items() if not isinstance(item, str))
        if wrong:
            names = ", ".join(wrong)
            raise InvalidInputError(f"{option}: Dagster tags are strings; quote the values of {names}: {text}")
    return text


def seconds(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < minimum:
        raise InvalidInputError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def timing_from_environment() -> Timing:
    return Timing(
        interval=seconds("LAUNCH_RUN_INTERVAL_SECONDS", 10, 0),
        timeout=seconds("LAUNCH_RUN_TIMEOUT_SECONDS", 1800, 0),
        retry_delay=seconds("LAUNCH_RUN_RETRY_DELAY_SECONDS", 60, 0),
    )


def organization_url() -> str:
    """The organization's URL, as the CLI derives it: DAGSTER_CLOUD_URL, else from DAGSTER_CLOUD_ORGANIZATION."""
    missing = []
    if not os.environ.get("DAGSTER_CLOUD_API_TOKEN"):
        missing.append("DAGSTER_CLOUD_API_TOKEN")
    url, organization = os.environ.get("DAGSTER_CLOUD_URL", ""), os.environ.get("DAGSTER_CLOUD_ORGANIZATION", "")
    if not url and not organization:
        missing.append("DAGSTER_CLOUD_ORGANIZATION (or DAGSTER_CLOUD_URL)")
    if missing:
        raise InvalidInputError(f"missing environment variables: {', '.join(missing)}")
    return url.rstrip("/") if url else f"https://{organization}.dagster.cloud"


def run_url(base: str, deployment: str, run_id: str) -> str:
    return f"{base}/{deployment}/runs/{run_id}"


def call_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=CLI_CALL_TIMEOUT_SECONDS, check=False)


def lines_of(*texts: str) -> list[str]:
    return [line for text in texts for line in ANSI.sub("", text or "").splitlines() if line.strip()]


def launch(request: Launch) -> tuple[str, str]:
    """(run id, "") once launched, or ("", why not)."""
    try:
        completed = call_cli(
            "job", "launch",
            "--deployment", request.deployment,
            "--location", request.location,
            "--repository", request.repository,
            "--job", request.job,
            "--config-json", request.config_json,
            "--tags", request.tags_json,
            *(argument for key in request.asset_keys for argument in ("--asset-key", key)),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "", f"dagster-cloud job launch did not answer within {CLI_CALL_TIMEOUT_SECONDS} s"
    output = lines_of(completed.stdout, completed.stderr)
    stdout = lines_of(completed.stdout)
    # Without --wait the CLI prints the run id alone, as its last line (commands/job/__init__.py: ui.print(run_id)).
    if completed.returncode == 0 and stdout and RUN_ID.match(stdout[-1].strip()):
        return stdout[-1].strip(), ""
    tail = "\n".join(output[-20:]) or "(no output)"
    if completed.returncode == 0:
        return "", f"dagster-cloud job launch printed no run id:\n{tail}"
    return "", f"dagster-cloud job launch exited {completed.returncode}:\n{tail}"


def query_status(deployment: str, run_id: str) -> tuple[str, str]:
    """(status, "") or ("", the CLI's answer): `run status` prints an error and exits 0 when the query fails."""
    try:
        completed = call_cli("run", "status", "--deployment", deployment, run_id)
    except subprocess.TimeoutExpired:
        return "", f"dagster-cloud run status did not answer within {CLI_CALL_TIMEOUT_SECONDS} s"
    stdout = lines_of(completed.stdout)
    answer = stdout[-1].strip() if stdout else ""
    if completed.returncode == 0 and answer in TERMINAL_STATUSES + RUNNING_STATUSES:
        return answer, ""
    return "", " / ".join(lines_of(completed.stdout, completed.stderr)[-3:]) or f"exit {completed.returncode}"


def say(text: str) -> None:
    print(text, flush=True)


def final_outcome(request: Launch, run_id: str, url: str, status: str) -> Outcome | None:
    """The outcome a status ends the wait with, or None while the run goes on."""
    where = f"{request.job} run {run_id} in {request.deployment}"
    messages = {
        "SUCCESS": (SUCCEEDED, f"{request.job} succeeded in {request.deployment}: {url}"),
        "FAILURE": (FAILED, f"{where} failed (FAILURE): {url}"),
        "CANCELED": (CANCELED, f"{where} was canceled before it finished (CANCELED): {url}"),
    }
    if status not in messages:
        return None
    code, message = messages[status]
    return Outcome(code, message, run_id, url, status)


def wait_for(request: Launch, run_id: str, url: str, timing: Timing) -> Outcome:
    deadline = time.monotonic() + timing.timeout
    last_status, errors_in_a_row = "", 0
    while True:
        status, error = query_status(request.deployment, run_id)
        if error:
            errors_in_a_row += 1
            say(f"Run {run_id}: status query failed ({errors_in_a_row} in a row): {error}")
            if errors_in_a_row > STATUS_ERRORS_ALLOWED:
                message = (
                    f"could not read the status of {request.job} run {run_id} in {request.deployment}: "
                    f"{errors_in_a_row} queries in a row failed, the last with: {error}. The run may still be going: "
                    f"{url}"
                )
                return Outcome(STATUS_UNKNOWN, message, run_id, url, last_status)
        else:
            errors_in_a_row = 0
            if status != last_status:
                say(f"Run {run_id}: {status}")
                last_status = status
            outcome = final_outcome(request, run_id, url, status)
            if outcome is not None:
                return outcome
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            message = (
                f"{request.job} run {run_id} in {request.deployment} did not finish within {timing.timeout:g} s: it "
                f"is still {last_status or 'of unknown status'} and goes on in Dagster+ unless stopped there: {url}"
            )
            return Outcome(TIMED_OUT, message, run_id, url, last_status)
        time.sleep(min(timing.interval, remaining))


def attempt(request: Launch, base_url: str, timing: Timing) -> Outcome:
    say(
        f"Launching {request.job} in {request.deployment} "
        f"(location {request.location}, repository {request.repository})"
    )
    run_id, error = launch(request)
    if error:
        return Outcome(
            LAUNCH_FAILED,
            f"could not launch {request.job} in {request.deployment} (location {request.location}, repository "
            f"{request.repository}): {error}",
        )
    url = run_url(base_url, request.deployment, run_id)
    say(f"Run {run_id} launched: {url}")
    return wait_for(request, run_id, url, timing)


def run_with_retries(request: Launch, base_url: str, timing: Timing, attempts: int) -> Outcome:
    for number in range(1, attempts + 1):
        outcome = attempt(request, base_url, timing)
        if outcome.code not in RETRIED_OUTCOMES or number == attempts:
            return outcome
        report(outcome, final=False)
        say(f"Attempt {number} of {attempts} failed; retrying in {timing.retry_delay:g} s")
        time.sleep(timing.retry_delay)
    raise AssertionError("unreachable")


def report(outcome: Outcome, final: bool = True, step_outputs: bool = True) -> None:
    """The outcome as a log line, and on GitHub Actions as an annotation, a summary line and (for the step's one
    run) step outputs."""
    on_github = os.environ.get("GITHUB_ACTIONS") == "true"
    if outcome.code == SUCCEEDED:
        say(outcome.message)
    elif on_github:
        level = "error" if final else "warning"
        say(f"::{level} title=Dagster+ run::{outcome.message.replace('%', '%25').replace(chr(10), '%0A')}")
    else:
        print(("error: " if final else "warning: ") + outcome.message, file=sys.stderr, flush=True)
    if not final:
        return
    if step_outputs and os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"run_id={outcome.run_id}\nrun_url={outcome.url}\nstatus={outcome.status}\n")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            mark = "succeeded" if outcome.code == SUCCEEDED else "did not succeed"
            summary.write(f"- Dagster+ run {mark}: {outcome.message.splitlines()[0]}\n")


def with_partition_range(tags_json: str, partition_range: str) -> str:
    """``tags_json`` with the tags of a one-run partition range ``FIRST...LAST`` (as ``dg launch`` writes them), or
    of one partition when ``FIRST`` is ``LAST``."""
    first, separator, last = (part.strip() for part in partition_range.partition("..."))
    if not separator or not first or not last or "..." in last:
        raise InvalidInputError(f"--partition-range must be FIRST...LAST, got {partition_range!r}")
    tags = json.loads(tags_json)
    clashing = sorted(set(tags) & {*PARTITION_RANGE_TAGS, PARTITION_TAG})
    if clashing:
        raise InvalidInputError(f"--partition-range sets {', '.join(clashing)}; leave it out of --tags")
    if first == last:
        return json.dumps({**tags, PARTITION_TAG: first})
    return json.dumps({**tags, PARTITION_RANGE_TAGS[0]: first, PARTITION_RANGE_TAGS[1]: last})


def parse_arguments(argv: list[str]) -> tuple[Launch, int]:
    parser = argparse.ArgumentParser(
        description="Launch a Dagster+ job and wait for its run; exit 0 only if the run succeeded."
    )
    parser.add_argument("--deployment", required=True, help="Dagster+ deployment, e.g. prod")
    parser.add_argument("--location", required=True, help="code location of the job")
    parser.add_argument("--job", required=True, help="job name")
    parser.add_argument("--repository", default="__repository__", help="repository (Definitions: __repository__)")
    parser.add_argument("--config-json", default="{}", help="run config, a JSON object")
    parser.add_argument("--tags", default="{}", help="run tags, a JSON object of strings")
    parser.add_argument("--attempts", type=int, default=1, help="launches at most, retrying failed runs (default 1)")
    parser.add_argument("--asset-key", action="append", default=[], help="an asset to run (repeat for several)")
    parser.add_argument("--partition-range", help="FIRST...LAST partition keys, run in one run")
    args = parser.parse_args(argv)
    for option, value in (("--deployment", args.deployment), ("--location", args.location), ("--job", args.job)):
        if not value.strip():
            raise InvalidInputError(f"{option} is empty")
    if args.attempts < 1:
        raise InvalidInputError(f"--attempts must be at least 1, got {args.attempts}")
    if args.partition_range and not args.asset_key:
        raise InvalidInputError("--partition-range needs the assets to run it on (--asset-key)")
    tags_json = json_object(args.tags, "--tags", string_values=True)
    if args.partition_range:
        tags_json = with_partition_range(tags_json, args.partition_range)
    request = Launch(
        deployment=args.deployment,
        location=args.location,
        repository=args.repository,
        job=args.job,
        config_json=json_object(args.config_json, "--config-json"),
        tags_json=tags_json,
        asset_keys=tuple(args.asset_key),
    )
    return request, args.attempts


def main(argv: list[str]) -> int:
    try:
        request, attempts = parse_arguments(argv)
        timing = timing_from_environment()
        base_url = organization_url()
        if shutil.which(CLI) is None:
            raise InvalidInputError(f"{CLI} is not on PATH: install dagster-cloud-cli (pip install dagster-cloud-cli)")
    except InvalidInputError as error:
        outcome = Outcome(BAD_INPUT, f"nothing launched: {error}")
    else:
        outcome = run_with_retries(request, base_url, timing, attempts)
    report(outcome)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

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

Each outcome prints its own message, with the run's URL. With ``--attempts N`` a failed run or a launch that failed
for a passing reason (no answer, a 5xx, a server error) is retried (a fresh run after a delay); never a launch
Dagster+ refused for good (401/403, no such job or location, invalid config or selection: the next one would be
refused alike), a canceled run (someone stopped it on purpose), a timed out one or one whose status is unknown (both
may still be running).

**One run per launch, even when a launch call dies.** Every run is tagged ``hn/ci_launch`` with a key of the request
and of the CI job that asks (GitHub: repository, workflow run and job; GitLab: project, pipeline and job name; so a
re-run of the job has the same key, and any other invocation a fresh one). When ``job launch`` fails or is killed
without printing a run id, the run may exist all the same (the answer was lost, or the CLI hung after Dagster+ created
it): the script looks the key up (``runsOrError`` with a tag filter, through dagster_plus_graphql.py) and follows the
run it finds instead of launching a second; if the lookup cannot answer it launches nothing more and exits 6. Before
its first launch a re-run of a CI job follows its earlier attempt's run if that one is still going or succeeded.

**One time budget.** ``LAUNCH_RUN_TIMEOUT_SECONDS`` covers everything: launch calls, waits and retries, with each
CLI call cut at what is left (and at ``LAUNCH_RUN_CALL_TIMEOUT_SECONDS``). So a CI step whose ``timeout-minutes`` is
that budget plus one call's worth never kills the script before it reports.

Environment: ``DAGSTER_CLOUD_API_TOKEN``, and ``DAGSTER_CLOUD_URL`` (the organization's URL, as the CLI reads it:
``https://acme.dagster.cloud``, in the EU region ``https://acme.eu.dagster.cloud``) or ``DAGSTER_CLOUD_ORGANIZATION``
(then ``https://<organization>.dagster.cloud``, gql.py ``url_from_config``); timing, in seconds:
``LAUNCH_RUN_INTERVAL_SECONDS`` between status queries (default 10), ``LAUNCH_RUN_TIMEOUT_SECONDS`` for the whole
invocation (default 1800), ``LAUNCH_RUN_RETRY_DELAY_SECONDS`` before a retry (default 60),
``LAUNCH_RUN_CALL_TIMEOUT_SECONDS`` at most per CLI call (default 300). On GitHub Actions the outcome is also an
annotation, the step outputs ``run_id``, ``run_url`` and ``status``, and a line of the job summary.

Standard library only (and its siblings launch_request.py, what a launch asks for, and dagster_plus_graphql.py,
likewise): it runs in the dagster-cloud-action image
(GitLab) and on GitHub's runners, beside the ``dagster-cloud`` executable of dagster-cloud-cli.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from dagster_plus_graphql import DagsterPlus, GraphQLError
from launch_request import (  # noqa: F401 (the names launch_changed_assets.py and the tests use from here)
    ASSET_JOB,
    DEFAULT_CALL_TIMEOUT_SECONDS,
    InvalidInputError,
    Launch,
    Timing,
    ci_scope,
    json_object,
    organization_url,
    parse_arguments,
    timing_from_environment,
    with_launch_key,
    with_partition_range,
)

CLI = "dagster-cloud"
# DagsterRunStatus (dagster/_core/storage/dagster_run.py); the three terminal ones end the wait.
TERMINAL_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
RUNNING_STATUSES = ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED", "CANCELING")
# Dagster run ids are str(uuid.uuid4()).
RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Status queries that may fail in a row before the run counts as unreadable (the CLI retries each one already).
STATUS_ERRORS_ALLOWED = 5
# The tag that names each launch (see the module docstring), and how many of its runs a lookup reads.
LAUNCH_KEY_TAG = "hn/ci_launch"
LOOKUP_LIMIT = 20
# What Dagster+ answers to a launch it will refuse again: HTTP 401/403 (dagster_cloud_cli/core/graphql_client.py
# retries only 409, 429 and 5xx), and the error types of the LaunchRunResult union other than PythonError
# (dagster_graphql/schema/runs.py, pipeline_execution_error_types), which the CLI quotes in "Unable to launch run".
# Not "Error in GraphQL response": the CLI raises it for any answer with errors, a partial one included (the run
# created, a field of it failing), so it is looked up and retried like any passing failure.
PERMANENT_LAUNCH_ERROR = re.compile(
    r"\b40[13] Client Error|'__typename': '(PipelineNotFoundError|InvalidSubsetError|"
    r"RunConfigValidationInvalid|UnauthorizedError|InvalidStepError|InvalidOutputError|PresetNotFoundError|"
    r"ConflictingExecutionParamsError|NoModeProvidedError)'"
)

SUCCEEDED, FAILED, BAD_INPUT, CANCELED, TIMED_OUT, LAUNCH_FAILED, STATUS_UNKNOWN = 0, 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Outcome:
    code: int
    message: str
    run_id: str = ""
    url: str = ""
    status: str = ""
    # A launch Dagster+ refused for good, or a run that may go on: launching again would not help.
    final: bool = False

    @property
    def retried(self) -> bool:
        return self.code in (FAILED, LAUNCH_FAILED) and not self.final


def run_url(base: str, deployment: str, run_id: str) -> str:
    return f"{base}/{deployment}/runs/{run_id}"


def call_cli(timing: Timing, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timing.call_seconds(), check=False)


def lines_of(*texts: str) -> list[str]:
    return [line for text in texts for line in ANSI.sub("", text or "").splitlines() if line.strip()]


def tags_with_key(request: Launch) -> str:
    tags = json.loads(request.tags_json)
    return json.dumps({**tags, LAUNCH_KEY_TAG: request.launch_key} if request.launch_key else tags)


def launch(request: Launch, timing: Timing) -> tuple[str, str, bool]:
    """(run id, "", False) once launched, or ("", why not, whether Dagster+ refused it for good)."""
    try:
        completed = call_cli(
            timing,
            "job", "launch",
            "--deployment", request.deployment,
            "--location", request.location,
            "--repository", request.repository,
            "--job", request.job,
            "--config-json", request.config_json,
            "--tags", tags_with_key(request),
            *(argument for key in request.asset_keys for argument in ("--asset-key", key)),
        )  # fmt: skip
    except subprocess.TimeoutExpired as timeout:
        return "", f"dagster-cloud job launch did not answer within {timeout.timeout:g} s and was stopped", False
    output = lines_of(completed.stdout, completed.stderr)
    stdout = lines_of(completed.stdout)
    # Without --wait the CLI prints the run id alone, as its last line (commands/job/__init__.py: ui.print(run_id)).
    if completed.returncode == 0 and stdout and RUN_ID.match(stdout[-1].strip()):
        return stdout[-1].strip(), "", False
    tail = "\n".join(output[-20:]) or "(no output)"
    if completed.returncode == 0:
        return "", f"dagster-cloud job launch printed no run id:\n{tail}", False
    refused = PERMANENT_LAUNCH_ERROR.search("\n".join(output)) is not None
    return "", f"dagster-cloud job launch exited {completed.returncode}:\n{tail}", refused


def refusal_hint(request: Launch, error: str) -> str:
    """What to do about a launch Dagster+ refused for good."""
    if "PipelineNotFoundError" in error:
        return (
            f"{request.deployment} has no job {request.job} in code location {request.location}: deploy that location "
            f"there first (production's locations come from a deploy of the default branch, a branch deployment's "
            f"from its own deploy job), and check --location, --repository and --job"
        )
    if re.search(r"\b40[13] Client Error|UnauthorizedError", error):
        return (
            f"the token DAGSTER_CLOUD_API_TOKEN may not launch runs in {request.deployment}: give its user or team a "
            "Launcher (or higher) role there, or use the token of that deployment's CI environment"
        )
    return "Dagster+ refused the launch itself; a second launch would be refused alike"


def runs_launched_as(request: Launch, timing: Timing) -> list[tuple[str, str]]:
    """(run id, status) of the runs tagged with ``request``'s launch key, newest first. Raises GraphQLError."""
    client = DagsterPlus(request.deployment, timeout=timing.call_seconds())
    return client.runs_tagged(LAUNCH_KEY_TAG, request.launch_key, limit=LOOKUP_LIMIT)


def query_status(deployment: str, run_id: str, timing: Timing) -> tuple[str, str]:
    """(status, "") or ("", the CLI's answer): `run status` prints an error and exits 0 when the query fails."""
    try:
        completed = call_cli(timing, "run", "status", "--deployment", deployment, run_id)
    except subprocess.TimeoutExpired as timeout:
        return "", f"dagster-cloud run status did not answer within {timeout.timeout:g} s"
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
    last_status, errors_in_a_row = "", 0
    while True:
        status, error = query_status(request.deployment, run_id, timing)
        if error:
            errors_in_a_row += 1
            say(f"Run {run_id}: status query failed ({errors_in_a_row} in a row): {error}")
            if errors_in_a_row > STATUS_ERRORS_ALLOWED:
                message = (
                    f"could not read the status of {request.job} run {run_id} in {request.deployment}: "
                    f"{errors_in_a_row} queries in a row failed, the last with: {error}. The run may still be going: "
                    f"{url}"
                )
                return Outcome(STATUS_UNKNOWN, message, run_id, url, last_status, final=True)
        else:
            errors_in_a_row = 0
            if status != last_status:
                say(f"Run {run_id}: {status}")
                last_status = status
            outcome = final_outcome(request, run_id, url, status)
            if outcome is not None:
                return outcome
        remaining = timing.left()
        if remaining <= 0:
            message = (
                f"{request.job} run {run_id} in {request.deployment} did not finish within the {timing.timeout:g} s "
                f"budget: it is still {last_status or 'of unknown status'} and goes on in Dagster+ unless stopped "
                f"there: {url}"
            )
            return Outcome(TIMED_OUT, message, run_id, url, last_status, final=True)
        time.sleep(min(timing.interval, remaining))


def follow(request: Launch, run_id: str, base_url: str, timing: Timing, seen: set[str]) -> Outcome:
    seen.add(run_id)
    return wait_for(request, run_id, run_url(base_url, request.deployment, run_id), timing)


def adopt_earlier_attempt(request: Launch, base_url: str, timing: Timing, seen: set[str]) -> Outcome | None:
    """A re-run of the CI job follows the run its earlier attempt launched while that run goes on or succeeded;
    after one that failed or was canceled it launches afresh (what a re-run is for). When Dagster+ cannot say, it
    launches nothing: the earlier run may be going."""
    try:
        runs = runs_launched_as(request, timing)
    except GraphQLError as error:
        message = (
            f"could not look for a run this CI job launched before ({LAUNCH_KEY_TAG}={request.launch_key}), so "
            f"nothing is launched (it could be a second one): {error}. Re-run the job once Dagster+ answers."
        )
        return Outcome(STATUS_UNKNOWN, message, final=True)
    seen.update(run_id for run_id, _ in runs)
    for run_id, status in runs:
        if status not in ("FAILURE", "CANCELED", "CANCELING"):
            url = run_url(base_url, request.deployment, run_id)
            say(f"Following run {run_id} ({status}), launched for this job before: {url}")
            return follow(request, run_id, base_url, timing, seen)
    return None


def created_meanwhile(request: Launch, timing: Timing, seen: set[str]) -> list[tuple[str, str]]:
    """Runs under the launch key that this invocation has not followed yet (a launch call that failed may have
    created one, even after the last look). Raises GraphQLError."""
    return [run for run in runs_launched_as(request, timing) if run[0] not in seen]


def attempt(request: Launch, base_url: str, timing: Timing, seen: set[str], relaunch: bool = False) -> Outcome:
    where = f"{request.job} in {request.deployment} (location {request.location}, repository {request.repository})"
    if timing.left() <= 0:
        return Outcome(TIMED_OUT, f"{where} not launched: the {timing.timeout:g} s budget is spent", final=True)
    if relaunch:  # the failed launch before this one may have created its run since it was looked for
        try:
            created = created_meanwhile(request, timing, seen)
        except GraphQLError as lookup_error:
            message = f"could not look for a run of {where} before launching again, so nothing is: {lookup_error}"
            return Outcome(STATUS_UNKNOWN, message, final=True)
        if created:
            say(f"The earlier launch created run {created[0][0]} after all: following it instead of launching again")
            return follow(request, created[0][0], base_url, timing, seen)
    say(f"Launching {where}")
    run_id, error, refused = launch(request, timing)
    if not error:
        say(f"Run {run_id} launched: {run_url(base_url, request.deployment, run_id)}")
        return follow(request, run_id, base_url, timing, seen)
    if refused:
        return Outcome(LAUNCH_FAILED, f"could not launch {where}: {refusal_hint(request, error)}. {error}", final=True)
    # The launch may have created a run all the same: follow it rather than launch a second.
    try:
        created = created_meanwhile(request, timing, seen)
    except GraphQLError as lookup_error:
        message = (
            f"could not tell whether the launch of {where} created a run, so nothing more is launched: {error}\n"
            f"Looking for runs tagged {LAUNCH_KEY_TAG}={request.launch_key} failed: {lookup_error}"
        )
        return Outcome(STATUS_UNKNOWN, message, final=True)
    if created:
        run_id = created[0][0]
        say(f"The launch call failed, yet it created run {run_id}: following it instead of launching again. {error}")
        return follow(request, run_id, base_url, timing, seen)
    return Outcome(LAUNCH_FAILED, f"could not launch {where}: {error}")


def run_with_retries(
    request: Launch, base_url: str, timing: Timing, attempts: int, scope: tuple[str, ...] = ()
) -> Outcome:
    """Launch and wait, retrying what may pass, within ``timing``'s one budget."""
    request = with_launch_key(request, scope)
    seen: set[str] = set()
    if scope:
        adopted = adopt_earlier_attempt(request, base_url, timing, seen)
        if adopted is not None:
            return adopted
    outcome: Outcome | None = None
    for number in range(1, attempts + 1):
        relaunch = outcome is not None and outcome.code == LAUNCH_FAILED
        outcome = attempt(request, base_url, timing, seen, relaunch=relaunch)
        if not outcome.retried or number == attempts:
            return outcome
        if timing.left() <= timing.retry_delay:
            say(f"Attempt {number} of {attempts} failed and no budget is left for another")
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
        outcome = run_with_retries(request, base_url, timing, attempts, ci_scope(dict(os.environ)))
    report(outcome)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

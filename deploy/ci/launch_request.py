"""What a launch asks for, checked before anything is launched: the arguments, the timing settings, the organization's
URL, and the launch key that names the request's runs (see launch_run.py, which launches and follows them).

Standard library only, like launch_run.py: it runs on GitHub's runners and in the dagster-cloud-action image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import time
import urllib.parse
import uuid
from dataclasses import dataclass, replace

# The longest a CLI call may take by default (LAUNCH_RUN_CALL_TIMEOUT_SECONDS): its own HTTP retries take far less.
DEFAULT_CALL_TIMEOUT_SECONDS = 300
# A CLI call is never cut shorter than this, however little of the budget is left: its own HTTP retries need it.
SHORTEST_CALL_SECONDS = 30
# An organization's name, as in https://<name>.dagster.cloud.
ORGANIZATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


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
    launch_key: str = ""


@dataclass(frozen=True)
class Timing:
    interval: float
    timeout: float
    retry_delay: float
    call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS
    # time.monotonic() when the budget ends; set once, when the invocation starts.
    deadline: float = 0.0

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def call_seconds(self) -> float:
        """How long the next CLI call may take: what is left of the budget, within the call limits."""
        return min(self.call_timeout, max(self.left(), SHORTEST_CALL_SECONDS))


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
    """The timing settings, and the budget's deadline counted from now."""
    timeout = seconds("LAUNCH_RUN_TIMEOUT_SECONDS", 1800, 0)
    return Timing(
        interval=seconds("LAUNCH_RUN_INTERVAL_SECONDS", 10, 0),
        timeout=timeout,
        retry_delay=seconds("LAUNCH_RUN_RETRY_DELAY_SECONDS", 60, 0),
        call_timeout=seconds("LAUNCH_RUN_CALL_TIMEOUT_SECONDS", DEFAULT_CALL_TIMEOUT_SECONDS, 1),
        deadline=time.monotonic() + timeout,
    )


def organization_url() -> str:
    """The organization's URL, as the CLI derives it: DAGSTER_CLOUD_URL, else from DAGSTER_CLOUD_ORGANIZATION; either
    checked, so that an unset or mistyped setting stops here rather than as a DNS error of ``https://.dagster.cloud``."""
    missing = []
    if not os.environ.get("DAGSTER_CLOUD_API_TOKEN"):
        missing.append("DAGSTER_CLOUD_API_TOKEN")
    url = os.environ.get("DAGSTER_CLOUD_URL", "").strip()
    organization = os.environ.get("DAGSTER_CLOUD_ORGANIZATION", "").strip()
    if not url and not organization:
        missing.append("DAGSTER_CLOUD_URL (or DAGSTER_CLOUD_ORGANIZATION)")
    if missing:
        raise InvalidInputError(f"missing environment variables: {', '.join(missing)}")
    if not url:
        if not ORGANIZATION_NAME.match(organization):
            raise InvalidInputError(
                f"DAGSTER_CLOUD_ORGANIZATION must be the organization's name, as in https://<name>.dagster.cloud, got "
                f"{organization!r}"
            )
        return f"https://{organization}.dagster.cloud"
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if parsed.scheme not in ("https", "http") or not host or host.startswith(".") or parsed.path.strip("/"):
        raise InvalidInputError(
            f"DAGSTER_CLOUD_URL must be the organization's URL, without a deployment: https://<organization>"
            f".dagster.cloud (EU region: https://<organization>.eu.dagster.cloud), got {url!r}"
        )
    return url.rstrip("/")


def ci_scope(environ: dict[str, str]) -> tuple[str, ...]:
    """Who asks, the same across re-runs of one CI job: GitHub's workflow run and job (GITHUB_RUN_ID stays the same
    when a run is re-run, GITHUB_RUN_ATTEMPT counts up), GitLab's pipeline and job name (a retried job gets a new
    CI_JOB_ID, not a new pipeline); elsewhere nothing, and every invocation is its own."""
    if environ.get("GITHUB_RUN_ID"):
        names = ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_JOB")
        return ("github", *(environ.get(name, "") for name in names))
    if environ.get("CI_PIPELINE_ID"):
        return ("gitlab", *(environ.get(name, "") for name in ("CI_PROJECT_ID", "CI_PIPELINE_ID", "CI_JOB_NAME")))
    return ()


def with_launch_key(request: Launch, scope: tuple[str, ...]) -> Launch:
    """``request`` with its key: a digest of the CI scope and of everything the launch asks for (so that the runs of
    a matrix, or of one plan, have keys of their own), or a fresh one outside CI."""
    parts = [*scope, request.deployment, request.location, request.repository, request.job, request.config_json,
             request.tags_json, *request.asset_keys] if scope else [str(uuid.uuid4())]  # fmt: skip
    return replace(request, launch_key=hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32])


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

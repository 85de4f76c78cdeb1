"""Fixtures shared by the delivery tests: a stand-in `dagster-cloud` executable on PATH (see fake_dagster_cloud.py),
and the GraphQL endpoint of the same stand-in Dagster+ for what scripts ask it directly."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hn_testing.http_stand_in import JsonHandler, serve

FAKE_CLI_SOURCE = Path(__file__).with_name("fake_dagster_cloud.py")
ORGANIZATION = "acme"


@dataclass
class FakeDagsterCloud:
    """Controls the stand-in CLI: what each launched run will do, and what was asked of it."""

    bin_dir: Path
    state_file: Path
    # The organization's URL (DAGSTER_CLOUD_URL): the GraphQL endpoint below answers at <url>/graphql.
    url: str = ""

    @classmethod
    def install(cls, directory: Path) -> FakeDagsterCloud:
        bin_dir = directory / "bin"
        bin_dir.mkdir(parents=True)
        executable = bin_dir / "dagster-cloud"
        executable.write_text(f"#!{sys.executable}\n" + FAKE_CLI_SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
        executable.chmod(0o755)
        fake = cls(bin_dir, directory / "dagster-cloud-state.json")
        fake.write(
            {
                "plans": {},
                "default_plan": ["SUCCESS"],
                "runs": {},
                "launches": [],
                "status_queries": [],
                "calls": [],
                "branch_deployment": "bd-1a2b3c",
                "closed_branch_deployments": [],
            }
        )
        return fake

    def read(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def write(self, data: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(data), encoding="utf-8")

    def plan(self, job: str, *runs: list[str] | str) -> None:
        """What the next launches of `job` do, in order: statuses, one per query (the last repeats), or LAUNCH_ERROR."""
        data = self.read()
        data["plans"][job] = list(runs)
        self.write(data)

    def set_branch_deployment(self, name: str) -> None:
        """What `ci branch-deployment` answers; "" makes it fail, as when Dagster+ cannot tell the deployment."""
        data = self.read()
        data["branch_deployment"] = name
        self.write(data)

    def launches(self) -> list[dict[str, Any]]:
        return self.read()["launches"]

    def status_queries(self) -> list[dict[str, Any]]:
        return self.read()["status_queries"]

    def closed_branch_deployments(self) -> list[str]:
        return self.read()["closed_branch_deployments"]

    def path_env(self) -> dict[str, str]:
        """The stand-in first on PATH and its state: what a CI step needs besides its own variables."""
        return {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.bin_dir.parent),
            "FAKE_DAGSTER_CLOUD_STATE": str(self.state_file),
        }

    def env(self, **extra: str) -> dict[str, str]:
        """A minimal environment for a CI step: the stand-in, Dagster+ settings, nothing of the caller."""
        return {
            **self.path_env(),
            "DAGSTER_CLOUD_ORGANIZATION": ORGANIZATION,
            "DAGSTER_CLOUD_URL": self.url,
            "DAGSTER_CLOUD_API_TOKEN": "placeholder-token",
            **extra,
        }

    def runs_tagged(self, deployment: str, tags: list[dict[str, str]]) -> list[dict[str, Any]]:
        """``runsOrError``'s answer: the deployment's runs carrying every tag, each at its current status."""
        data = self.read()
        found = []
        for run_id, run in data["runs"].items():
            if run["deployment"] != deployment or not all(run["tags"].get(t["key"]) == t["value"] for t in tags):
                continue
            if run.get("hidden_lookups", 0) > 0:  # not created yet, as far as this lookup can tell
                run["hidden_lookups"] -= 1
                continue
            found.append({"runId": run_id, "status": current_status(run), "creationTime": float(run["created"])})
        self.write(data)
        return found


def current_status(run: dict[str, Any]) -> str:
    """What the run's last status query answered (failed queries aside); QUEUED before any."""
    answered = [status for status in run["statuses"][: run["queries"]] if status != "STATUS_ERROR"]
    return answered[-1] if answered else "QUEUED"


def graphql_handler(fake: FakeDagsterCloud) -> type[JsonHandler]:
    """Dagster+'s GraphQL endpoint for ``runsOrError(filter: {tags})``, the one query scripts send it themselves
    (the rest goes through the stand-in CLI); the deployment from the header ``Dagster-Cloud-Deployment``."""

    class Handler(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server names its handlers so)
            body = json.loads(self.read_body())
            if "runsOrError" not in body["query"]:
                self.send_json(200, {"errors": [{"message": "the stand-in answers runsOrError only"}]})
                return
            deployment = self.headers.get("Dagster-Cloud-Deployment", "")
            tags = (body.get("variables") or {}).get("filter", {}).get("tags") or []
            results = fake.runs_tagged(deployment, tags)
            self.send_json(200, {"data": {"runsOrError": {"__typename": "Runs", "results": results}}})

    return Handler


@pytest.fixture
def fake_dagster_cloud(tmp_path: Path) -> Iterator[FakeDagsterCloud]:
    fake = FakeDagsterCloud.install(tmp_path / "fake-dagster-cloud")
    with serve(graphql_handler(fake)) as url:
        fake.url = url
        yield fake

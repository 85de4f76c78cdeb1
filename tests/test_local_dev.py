"""The local loop end to end: `hn-quickstart`, then `dg dev` on the same instance, as a newcomer runs them.

One `dg dev --use-active-venv` (both code locations, from the repository root) serves the whole test:

- the quick start's run, made before the server started, is in the UI with its metadata (one local home);
- both code locations load from the dg workspace;
- two runs of `refresh_hacker_news` launched together run one after the other (the tables' pool has one slot,
  held for the whole run), so the tables are never left from two different runs.

The instance is the repository's `dagster.yaml` with its storage moved under a temporary DAGSTER_HOME, so the test
never touches the developer's own `.dagster_home`. The server runs in its own process group, always stopped by
killing the whole group. DEADLINE_SECONDS is when a slow start counts as a failure (the start takes about 15 s on
an idle 2-core machine, more under load).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from hn_testing.environments import RESOLVER_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEADLINE_SECONDS = 120.0

WORKSPACE_QUERY = """
query {
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name jobs { name } assetNodes { assetKey { path } } } }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""
RUNS_QUERY = """
query { runsOrError { ... on Runs { results { runId jobName status startTime endTime } } } }
"""
LATEST_ITEMS_QUERY = """
query {
  assetOrError(assetKey: {path: ["items"]}) {
    ... on Asset { assetMaterializations(limit: 1) { runId metadataEntries { label } } }
  }
}
"""
LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DevServer:
    """GraphQL access to a running `dg dev`."""

    def __init__(self, port: int) -> None:
        self.port = port

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer
        return answer["data"]

    def is_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def launch(self, count: int) -> str:
        params = {
            "selector": {
                "repositoryLocationName": "hn_assets",
                "repositoryName": "__repository__",
                "jobName": "refresh_hacker_news",
            },
            "runConfigData": {"ops": {"items": {"config": {"base_item_id": count}}}},
        }
        launched = self.query(LAUNCH, params=params)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def runs(self) -> dict[str, dict[str, Any]]:
        return {run["runId"]: run for run in self.query(RUNS_QUERY)["runsOrError"]["results"]}


def project_instance_config(home: Path) -> str:
    """The repository's dagster.yaml, its storage moved from .dagster_home to ``home`` and nothing else changed."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    text = (ROOT / "dagster.yaml").read_text().replace(".dagster_home", str(home))
    moved = yaml.safe_load(text)
    assert {
        key: value for key, value in moved.items() if key not in ("storage", "local_artifact_storage", "compute_logs")
    } == {
        key: value for key, value in config.items() if key not in ("storage", "local_artifact_storage", "compute_logs")
    }
    return text


def stop(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            os.killpg(process.pid, signal.SIGKILL)  # no code server or run worker of the group survives
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


@pytest.fixture(scope="module")
def local_loop(
    tmp_path_factory: pytest.TempPathFactory, hn_fixture_items
) -> Iterator[tuple[DevServer, dict[str, Any]]]:
    """Runs the quick start, then starts `dg dev` on the same home; yields the server and the quick start's facts."""
    from hn_offline_api.server import OfflineHNAPI, serve_in_thread

    tmp = tmp_path_factory.mktemp("local_loop")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(project_instance_config(home))
    env = {name: value for name, value in os.environ.items() if name not in RESOLVER_VARIABLES}
    env.update(DAGSTER_HOME=str(home), DAGSTER_DEPLOYMENT="local", HN_DUCKDB_PATH=str(tmp / "hn.duckdb"))
    env.update(PYTHONUNBUFFERED="1")

    quickstart = subprocess.run(
        [str(BIN / "hn-quickstart"), "--items", "120", "--fixture-size", "400"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert quickstart.returncode == 0, quickstart.stdout + quickstart.stderr
    quickstart_run = quickstart.stdout.split("Run ", 1)[1][:8]

    port = free_port()
    log_path = tmp / "dg_dev.log"
    with serve_in_thread(OfflineHNAPI(hn_fixture_items)) as base_url, log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "dg"), "dev", "--use-active-venv", "--port", str(port)],
            cwd=ROOT,
            env={**env, "HN_API_BASE_URL": base_url},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = DevServer(port)
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while not loaded(server):
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
                assert process.poll() is None, f"dg dev exited with {process.returncode}:\n{tail}"
                assert time.monotonic() < deadline, f"dg dev did not load both locations in time:\n{tail}"
                time.sleep(0.5)
            yield server, {"run_prefix": quickstart_run, "warehouse": tmp / "hn.duckdb"}
        finally:
            stop(process)


def loaded(server: DevServer) -> bool:
    if not server.is_up():
        return False
    entries = server.query(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    return len(entries) == 2 and all(entry["loadStatus"] == "LOADED" for entry in entries)


def test_dg_dev_loads_both_locations(local_loop) -> None:
    server, _ = local_loop
    entries = server.query(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]

    contents = {}
    for entry in entries:
        location = entry["locationOrLoadError"]
        assert location["__typename"] == "RepositoryLocation", location
        (repository,) = location["repositories"]
        assert repository["name"] == "__repository__", "a Definitions object, launched as __repository__"
        contents[entry["name"]] = (
            {job["name"] for job in repository["jobs"]},
            {tuple(node["assetKey"]["path"]) for node in repository["assetNodes"]},
        )
    assert contents["hn_assets"][1] >= {("items",), ("comments",), ("stories",)}
    assert contents["db_ops"][0] >= {"clone_prod", "drop_prod_clone"}
    assert not contents["db_ops"][1], "db_ops defines no assets"


def test_the_quick_start_run_is_in_the_ui_with_its_metadata(local_loop) -> None:
    server, quickstart = local_loop

    (run,) = [run for run_id, run in server.runs().items() if run_id.startswith(quickstart["run_prefix"])]
    assert (run["jobName"], run["status"]) == ("refresh_hacker_news", "SUCCESS")
    latest = server.query(LATEST_ITEMS_QUERY)["assetOrError"]["assetMaterializations"][0]
    assert latest["runId"] == run["runId"]
    labels = {entry["label"] for entry in latest["metadataEntries"]}
    assert {"dagster/row_count", "preview", "deleted_count", "missing_ids"} <= labels


def test_two_runs_launched_together_write_the_tables_one_after_the_other(local_loop, hn_fixture_items) -> None:
    server, quickstart = local_loop

    first, second = server.launch(150), server.launch(60)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while {server.runs()[run]["status"] for run in (first, second)} - {"SUCCESS", "FAILURE", "CANCELED"}:
        assert time.monotonic() < deadline, server.runs()
        time.sleep(0.5)

    runs = server.runs()
    assert (runs[first]["status"], runs[second]["status"]) == ("SUCCESS", "SUCCESS")
    earlier, later = sorted((runs[first], runs[second]), key=lambda run: run["startTime"])
    assert later["startTime"] >= earlier["endTime"], "the second run started before the first had finished"
    with duckdb.connect(str(quickstart["warehouse"]), read_only=True) as connection:
        item_ids = {row[0] for row in connection.execute("SELECT id FROM HACKER_NEWS.ITEMS").fetchall()}
        comments = {row[0] for row in connection.execute("SELECT id FROM HACKER_NEWS.COMMENTS").fetchall()}
        comment_items = {
            row[0] for row in connection.execute("SELECT id FROM HACKER_NEWS.ITEMS WHERE type = 'comment'").fetchall()
        }
    assert comments == comment_items, "COMMENTS and ITEMS come from the same run"
    newest = max(hn_fixture_items)
    span = 60 if later["runId"] == second else 150
    assert min(item_ids) > newest - span, "the tables hold the run that finished last"

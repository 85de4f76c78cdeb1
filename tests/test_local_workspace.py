"""workspace.yaml serves both code locations: start dagster-webserver on it and ask its GraphQL API.

The server runs in its own process group (its code servers are children) on a free 127.0.0.1 port, with a
temporary DAGSTER_HOME and the local environment, and is always stopped by killing the whole group.

The webserver loads the locations one after the other, each in a fresh code server process, so the test takes
roughly the webserver's start plus two imports of the locations (about 35 s on an idle 2-core machine, more under
load). DEADLINE_SECONDS is the point at which a slow start counts as a failure.
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
from pathlib import Path
from typing import Any

from hn_testing.environments import RESOLVER_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE_YAML = ROOT / "workspace.yaml"
DEADLINE_SECONDS = 90.0

EXPECTED_ASSETS = {("items",), ("comments",), ("stories",)}
EXPECTED_JOBS = {"db_ops": {"clone_prod", "drop_prod_clone"}}

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation {
            repositories {
              name
              jobs { name }
              assetNodes { assetKey { path } }
            }
          }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def server_is_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            # The leader is gone; make sure no code server of the group survives it.
            os.killpg(process.pid, signal.SIGKILL)
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def summarize(entries: list[dict[str, Any]]) -> str:
    lines = []
    for entry in entries:
        location = entry.get("locationOrLoadError") or {}
        message = location.get("message", "").strip().splitlines()
        lines.append(f"{entry['name']}: {entry['loadStatus']} {location.get('__typename', '')} {message[-1:]}")
    return "\n".join(lines)


def test_webserver_serves_both_locations(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    # Only the local environment: none of the caller's deployment or credential variables reach the server.
    env = {k: v for k, v in os.environ.items() if k not in RESOLVER_VARIABLES}
    env.update(
        DAGSTER_HOME=str(home),
        DAGSTER_DEPLOYMENT="local",
        HN_DUCKDB_PATH=str(tmp_path / "hn.duckdb"),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log_path = tmp_path / "webserver.log"
    webserver = Path(sys.executable).with_name("dagster-webserver")
    command = [str(webserver), "-w", str(WORKSPACE_YAML), "-h", "127.0.0.1", "-p", str(port)]
    deadline = time.monotonic() + DEADLINE_SECONDS

    def log_tail() -> str:
        return "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        while not server_is_up(port):
            assert process.poll() is None, f"dagster-webserver exited with {process.returncode}:\n{log_tail()}"
            assert time.monotonic() < deadline, f"dagster-webserver did not start in time:\n{log_tail()}"
            time.sleep(0.25)

        entries: list[dict[str, Any]] = []
        while True:
            result = graphql(port, WORKSPACE_QUERY)
            assert "errors" not in result, result
            workspace = result["data"]["workspaceOrError"]
            assert workspace["__typename"] == "Workspace", workspace
            entries = workspace["locationEntries"]
            settled = entries and all(entry["loadStatus"] == "LOADED" for entry in entries)
            if settled:
                break
            assert time.monotonic() < deadline, f"locations not loaded in time:\n{summarize(entries)}"
            time.sleep(0.5)

        assert {entry["name"] for entry in entries} == {"hn_assets", "db_ops"}
        failed = [e for e in entries if e["locationOrLoadError"]["__typename"] != "RepositoryLocation"]
        assert not failed, f"locations failed to load:\n{summarize(failed)}\n{log_tail()}"

        contents = {}
        for entry in entries:
            (repository,) = entry["locationOrLoadError"]["repositories"]
            assert repository["name"] == "__repository__", "a Definitions object, launched as __repository__"
            contents[entry["name"]] = (
                {job["name"] for job in repository["jobs"]},
                {tuple(node["assetKey"]["path"]) for node in repository["assetNodes"]},
            )
        assert contents["hn_assets"][1] >= EXPECTED_ASSETS
        assert contents["db_ops"][0] >= EXPECTED_JOBS["db_ops"]
        assert not (contents["db_ops"][1] & EXPECTED_ASSETS), "the locations do not share assets"
    finally:
        stop(process)
    assert process.poll() is not None

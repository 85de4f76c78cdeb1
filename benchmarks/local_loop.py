"""Where developers run it: the quick start, ``dagster job execute`` and a UI launch, each from a cold process.

Each way materializes the 1,000 most recent of 5,000 generated items (no latency) into a fresh DuckDB file, as whole
CLI processes, on a fresh instance configured like the checkout's ``dagster.yaml`` (the UI way waits on its run
queue's interval): ``hn-quickstart`` (its own offline server, the job in its process); ``dagster job execute`` of
``refresh_hacker_news`` (what ``dg launch --job`` runs), against the offline server in a process of its own; and what
"Materialize all" costs once ``dg dev`` is up: a run launched through GraphQL, timed from the launch to its success
(the daemon dequeues it, a run worker process loads the location and runs the job), against the same server.
``--tree PATH`` measures another checkout's code (an older commit, in a git worktree) with this environment's
packages: its sources go first on ``PYTHONPATH``; without a dg workspace there, the UI way runs ``dagster dev``.
"""

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.dagster_runs import dagster_home, local_environment, markdown, spread
from benchmarks.processes import REPO_ROOT, ServerProcess

BIN = Path(sys.executable).parent
LAUNCH = "mutation($p: ExecutionParams!) {launchRun(executionParams: $p) {... on LaunchRunSuccess {run {runId}}}}"
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LOADED = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
EXECUTE = ["job", "execute", "-m", "hn_assets.definitions", "-j", "refresh_hacker_news", "--config"]
JOB = {"repositoryLocationName": "hn_assets", "repositoryName": "__repository__", "jobName": "refresh_hacker_news"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="runs of each way (3)")
    parser.add_argument("--items", type=int, default=1_000, help="items to materialize (1000)")
    parser.add_argument("--tree", type=Path, default=REPO_ROOT, help="the checkout whose code to measure")


def graphql(port: int, query: str, **variables: object) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


def ui_run(port: int, env: dict[str, str], run_config: dict[str, Any]) -> float:
    """Seconds from launching a run through GraphQL, as the UI does, to its success."""
    Path(env["HN_DUCKDB_PATH"]).unlink(missing_ok=True)
    started, status = time.perf_counter(), "QUEUED"
    run_id = graphql(port, LAUNCH, p={"selector": JOB, "runConfigData": run_config})["launchRun"]["run"]["runId"]
    while status not in ("SUCCESS", "FAILURE", "CANCELED"):
        time.sleep(0.1)
        status = graphql(port, STATUS, id=run_id)["runOrError"]["status"]
    if status != "SUCCESS":
        raise RuntimeError(f"The run {run_id} launched from the UI ended in {status}.")
    return time.perf_counter() - started


def ui_runs(tree: Path, env: dict[str, str], rounds: int, run_config: dict[str, Any]) -> list[float]:
    """Start the dev server, wait until it has loaded every location, then launch ``rounds`` runs one after another."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dev = ["dg", "dev", "--use-active-venv"] if (tree / "dg.toml").exists() else ["dagster", "dev"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    server = subprocess.Popen([str(BIN / dev[0]), *dev[1:], "--port", str(port)], cwd=tree, env=env, **quiet)
    try:
        entries: list[dict[str, str]] = []
        while not entries or any(entry["loadStatus"] != "LOADED" for entry in entries):
            if server.poll() is not None:
                raise RuntimeError(f"{' '.join(dev)} exited with {server.returncode}.")
            time.sleep(0.5)
            with contextlib.suppress(OSError):
                entries = graphql(port, LOADED)["workspaceOrError"]["locationEntries"]
        return [ui_run(port, env, run_config) for _ in range(rounds)]
    finally:  # Ctrl-C, which `dg dev` handles by stopping its daemon and code servers; then whatever is left
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    tree, run_config = args.tree.resolve(), {"ops": {"items": {"config": {"base_item_id": args.items}}}}
    with tempfile.TemporaryDirectory() as folder, ServerProcess("--items", 5_000) as server:
        config, duckdb_file = Path(folder, "run_config.json"), Path(folder, "hn.duckdb")
        config.write_text(json.dumps(run_config))  # JSON is YAML, which `--config` reads
        env = local_environment(HN_API_BASE_URL=server.base_url, HN_DUCKDB_PATH=str(duckdb_file))
        env |= dagster_home(Path(folder), tree)
        if tree != REPO_ROOT:
            env["PYTHONPATH"] = os.pathsep.join(str(source) for source in sorted(tree.glob("packages/*/src")))
        ways = {
            "`hn-quickstart` (in process)": [str(BIN / "hn-quickstart"), "--items", str(args.items)],
            "`dagster job execute` (what `dg launch --job` runs)": [str(BIN / "dagster"), *EXECUTE, str(config)],
        }
        seconds: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(args.rounds):  # interleaved, so that changes in the machine's load hit both alike
            for way, command in ways.items():
                duckdb_file.unlink(missing_ok=True)
                started = time.perf_counter()
                subprocess.run(command, cwd=tree, env=env, check=True, capture_output=True)
                seconds[way].append(time.perf_counter() - started)
        seconds["a run launched from the UI, launch to success"] = ui_runs(tree, env, args.rounds, run_config)
    return {"tree": str(tree), "items": args.items, "seconds": seconds}


def report(results: dict[str, Any]) -> str:
    medians = {way: statistics.median(times) for way, times in results["seconds"].items()}
    first = next(iter(medians.values()))
    rows = [[way, spread(results["seconds"][way], 1), f"{median / first:.2f}"] for way, median in medians.items()]
    return markdown(["way", f"{results['items']:,} items: s, median (range)", "against the quick start"], rows)

"""Local run time where users run it: ``uv run python -m benchmarks.local_loop [--rounds 3]``.

Three ways to materialize the 1,000 most recent items into a fresh DuckDB file, each from a cold process, against
the offline HN API (5,000 generated items, no latency) as the quick start serves it:

- ``quickstart``: ``hn-quickstart --items 1000`` (in process: its own server, the job run in the same process);
- ``job execute``: ``dagster job execute -m hn_assets.definitions -j refresh_hacker_news`` with the job's executor
  (what ``dg launch --job refresh_hacker_news`` runs), against an offline server in another process;
- ``UI``: what "Materialize all" costs once ``dg dev`` is up: a run launched through GraphQL, from the launch to
  its success (the daemon dequeues it, a run worker process loads the location and runs the job).

Prints the wall time of every round and the median per way; BENCHMARKS.md has the figures. ``--tree PATH`` measures
another checkout's code (e.g. an older commit, in a git worktree) with this environment's packages: its packages'
sources go first on PYTHONPATH, and without a dg workspace there the UI way starts ``dagster dev -w workspace.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks.child import REPO_ROOT
from benchmarks.machine import load_average
from benchmarks.server import ServerProcess, free_port

BIN = Path(sys.executable).parent
N = 1_000
RUN_CONFIG = json.dumps({"ops": {"items": {"config": {"base_item_id": N}}}})


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def graphql(port: int, query: str, **variables: object) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


LAUNCH = """
mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { ... on LaunchRunSuccess { run { runId } } } }
"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""


def ui_run(port: int) -> float:
    params = {
        "selector": {
            "repositoryLocationName": "hn_assets",
            "repositoryName": "__repository__",
            "jobName": "refresh_hacker_news",
        },
        "runConfigData": json.loads(RUN_CONFIG),
    }
    started = time.perf_counter()
    run_id = graphql(port, LAUNCH, p=params)["launchRun"]["run"]["runId"]
    while (status := graphql(port, STATUS, id=run_id)["runOrError"]["status"]) not in ("SUCCESS", "FAILURE"):
        time.sleep(0.1)
    if status != "SUCCESS":
        raise RuntimeError(f"run {run_id} failed")
    return time.perf_counter() - started


def with_dev_server(tree: Path, env: dict[str, str], rounds: int) -> list[float]:
    port = free_port()
    if (tree / "dg.toml").exists():
        command = [str(BIN / "dg"), "dev", "--use-active-venv", "--port", str(port)]
    else:
        command = [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "--port", str(port)]
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                entries = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
                if all(e["loadStatus"] == "LOADED" for e in entries["workspaceOrError"]["locationEntries"]):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        return [ui_run(port) for _ in range(rounds)]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=REPO_ROOT, help="the checkout whose code to measure")
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    home = Path(tempfile.mkdtemp(prefix="local_loop_"))
    (home / "run_config.json").write_text(RUN_CONFIG)  # JSON is YAML: `dagster job execute` takes a file
    instance_config = tree / "dagster.yaml"
    (home / "dagster.yaml").write_text(
        instance_config.read_text().replace(".dagster_home", str(home)) if instance_config.exists() else ""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_CLOUD", "SNOWFLAKE", "HN_"))}
    env.update(DAGSTER_HOME=str(home), DAGSTER_DEPLOYMENT="local", HN_DUCKDB_PATH=str(home / "bench.duckdb"))
    if tree != REPO_ROOT:
        env["PYTHONPATH"] = os.pathsep.join(str(src) for src in sorted(tree.glob("packages/*/src")))
    print(f"load average before: {load_average()}")
    results: dict[str, list[float]] = {}
    ways: dict[str, Callable[[dict[str, str]], float]] = {
        "quickstart": lambda e: timed([str(BIN / "hn-quickstart"), "--items", str(N)], e, tree),
        "job execute": lambda e: timed(
            [
                str(BIN / "dagster"),
                "job",
                "execute",
                "-m",
                "hn_assets.definitions",
                "-j",
                "refresh_hacker_news",
                "--config",
                str(home / "run_config.json"),
            ],
            e,
            tree,
        ),
    }
    with ServerProcess(latency_ms=0, items=5_000) as server:
        served = {**env, "HN_API_BASE_URL": server.base_url}
        for _ in range(args.rounds):
            for way, run in ways.items():
                results.setdefault(way, []).append(run(served))
        results["UI"] = with_dev_server(tree, served, args.rounds)
    for way, times in results.items():
        print(f"{way:<12} median {statistics.median(times):6.1f} s   rounds: {', '.join(f'{t:.1f}' for t in times)}")
    print(f"load average after: {load_average()}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

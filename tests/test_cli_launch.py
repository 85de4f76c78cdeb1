"""The README's command-line launches go through the workspace, as the UI does: each run is queued on the instance
and belongs to its job in the code location `hn_assets`, so the job's pages list it (they filter on the repository
label tag: dagster_graphql/schema/pipelines/pipeline.py, GraphenePipeline.resolve_runs).

The commands are read from the README and run as written, against an instance of this test's own (no daemon: the
runs stay queued, which is all that is asked of them here).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

ROOT = Path(__file__).resolve().parents[1]
LOCATION_LABEL = "__repository__@hn_assets"


def readme_launch_commands() -> list[str]:
    """The `dagster job launch` and `dagster job backfill` commands of the README's "Run the pipeline" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the pipeline", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(uv run dagster job (?:launch|backfill) .*?)(?<!\\)$", section, re.M | re.S)
    return [re.sub(r"\s+#.*$", "", command, flags=re.M) for command in commands]


def test_the_readmes_command_line_runs_belong_to_their_jobs_in_the_location(tmp_path: Path) -> None:
    commands = readme_launch_commands()
    assert [command.split()[4] for command in commands] == ["launch", "backfill"], commands
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home / 'storage'}\n", encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home)}

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)

    for command in commands:  # one after the other, as a reader would (and as SQLite prefers its writers)
        result = run(command)
        assert result.returncode == 0, result.stderr[-2000:]

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        runs = instance.get_runs()
    assert sorted(run.job_name for run in runs) == [
        "refresh_hacker_news",
        "refresh_item_history",
        "refresh_item_history",
    ]
    assert {run.tags_for_storage()[REPOSITORY_LABEL_TAG] for run in runs} == {LOCATION_LABEL}
    assert {run.remote_job_origin.location_name for run in runs} == {"hn_assets"}

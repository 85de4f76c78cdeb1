"""The pull request's loop after the clone, end to end: launch the changed assets in the branch deployment, read their
checks back, and post one report that the next push edits.

Everything runs for real but the hosts: ``deploy/ci/launch_changed_assets.py`` drives the real ``dagster-cloud`` CLI
against the Dagster+ stand-in (tests/dagster_plus_stand_in.py: one host in front of an open-source webserver per
deployment, ``prod`` and the branch's), whose runs execute the branch's definitions on a local clone of a DuckDB
production (made by ``db_ops``' ``clone_prod`` with the commit it serves) and on the offline HN API;
``deploy/ci/data_diff_report.py`` reads the runs' checks and production's materializations over GraphQL and posts
to the GitHub and GitLab stand-ins (tests/forge_stand_in.py).

The change is ``hn_assets.branch_demo``'s: ``comments`` without the comments the site flagged dead. The expected
counts come from production's tables by SQL, not from the code under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hn_assets.assets import comments, items, stories
from hn_assets.branch_demo import clone, comments_without_dead, definitions, local_warehouse
from hn_assets.changes import changed_assets, fingerprints, plan, removed_assets
from hn_offline_api.fixtures import IRREGULAR_MIX, generate_items
from hn_offline_api.server import OfflineHNAPI, serve_in_thread
from tests.dagster_plus_stand_in import organization, prepare_home, webservers
from tests.forge_stand_in import TOKEN, ForgeState, Thread, forge

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "deploy" / "ci" / "launch_changed_assets.py"
REPORT = ROOT / "deploy" / "ci" / "data_diff_report.py"
REAL_CLI_DIR = Path(sys.executable).parent
PULL_REQUEST, COMMIT = 1, "0123456789abcdef0123456789abcdef01234567"
BRANCH = "pr-1-bd"
ITEM_COUNT = 400
MARKER = "<!-- hn-data-diff -->"

BRANCH_CODE = """\
import dagster as dg

from hn_assets.assets import items, stories
from hn_assets.branch_demo import comments_without_dead, definitions


@dg.definitions
def defs() -> dg.Definitions:
    return definitions([items, comments_without_dead, stories])
"""


def workspace(folder: Path, location: str) -> Path:
    path = folder / "workspace.yaml"
    path.write_text(location, encoding="utf-8")
    return path


def materialize_production(instance: dg.DagsterInstance, path: Path, base_url: str) -> None:
    """A production run of the three tables into the warehouse file ``path``, recorded in production's instance."""
    with local_warehouse(path, base_url):
        job = dg.define_asset_job("production", selection=["items", "comments", "stories"])
        production = dg.Definitions.merge(definitions([items, comments, stories]), dg.Definitions(jobs=[job]))
        config = {"ops": {"items": {"config": {"base_item_id": ITEM_COUNT}}}}
        result = production.resolve_job_def("production").execute_in_process(run_config=config, instance=instance)
    assert result.success


def dead_comments(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("SELECT count(*) FROM HACKER_NEWS.comments WHERE dead").fetchone()[0]


def run_script(script: Path, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *arguments], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """Production with materializations in its instance, a clone for the pull request's commit, both deployments
    served, and the change's plan; yields what the tests need."""
    folder = tmp_path_factory.mktemp("pull_request")
    production_path = folder / "local_warehouse.duckdb"
    clone_path = folder / f"PRODUCTION_CLONE_{PULL_REQUEST}.duckdb"
    production_home = prepare_home(folder / "prod_home")
    with serve_in_thread(OfflineHNAPI(generate_items(3_000, mix=IRREGULAR_MIX))) as base_url:
        with local_warehouse(clone_path, base_url) as variables:
            branch_env = dict(variables)
        (folder / "change.py").write_text(BRANCH_CODE)
        (folder / "workspace.yaml").write_text(
            f"load_from:\n  - python_file:\n      relative_path: {folder / 'change.py'}\n"
            "      location_name: hn_assets\n"
        )
        # Both start now and load while production is made. Production only answers for its event log (its
        # materializations): no code needs to load there.
        with webservers(
            **{
                BRANCH: (folder / "workspace.yaml", folder / "branch_home", branch_env, folder / "branch.log"),
                "prod": (None, production_home, branch_env, folder / "prod.log"),
            }
        ) as servers:
            production_instance = dg.DagsterInstance.from_config(str(production_home))
            materialize_production(production_instance, production_path, base_url)
            with local_warehouse(production_path, base_url) as env:
                clone(PULL_REQUEST, env, folder, commit=COMMIT)
                production_definitions = definitions([items, comments, stories])
            with local_warehouse(clone_path, base_url):
                branch_definitions = definitions([items, comments_without_dead, stories])
            base, head = fingerprints(production_definitions), fingerprints(branch_definitions)
            changed = changed_assets(base, head)
            document = {
                "runs": [launch.to_dict() for launch in plan(branch_definitions, changed)],
                "changed": changed,
                "removed": removed_assets(base, head),
            }
            (folder / "plan.json").write_text(json.dumps(document))
            for server in servers.values():
                server.wait()
            with organization({name: server.url for name, server in servers.items()}) as url:
                env = {
                    **os.environ,
                    "PATH": f"{REAL_CLI_DIR}{os.pathsep}{os.environ['PATH']}",
                    "DAGSTER_CLOUD_URL": url,
                    "DAGSTER_CLOUD_API_TOKEN": "branch-token",
                    "LAUNCH_RUN_INTERVAL_SECONDS": "0.5",
                    "LAUNCH_RUN_TIMEOUT_SECONDS": "240",
                }
                launched = run_script(
                    LAUNCHER,
                    env,
                    f"--plan={folder / 'plan.json'}",
                    f"--deployment={BRANCH}",
                    "--location=hn_assets",
                    f"--runs={folder / 'runs.json'}",
                    '--tags={"github/pull_request": "1"}',
                )
                yield {
                    "folder": folder,
                    "url": url,
                    "production_path": production_path,
                    "production_instance": production_instance,
                    "base_url": base_url,
                    "changed": changed,
                    "env": env,
                    "launched": launched,
                }


def report(loop, forge_env: dict[str, str], *post: str) -> subprocess.CompletedProcess[str]:
    folder = loop["folder"]
    return run_script(
        REPORT,
        {**loop["env"], **forge_env},
        f"--plan={folder / 'plan.json'}",
        f"--runs={folder / 'runs.json'}",
        f"--deployment={BRANCH}",
        "--production=prod",
        f"--commit={COMMIT}",
        *post,
    )


def test_the_change_runs_in_the_branch_and_one_report_says_how_the_data_differs(loop) -> None:
    folder, launched = loop["folder"], loop["launched"]
    assert loop["changed"] == {"comments": ["code_version"]}  # exactly the changed transform's asset, nothing else

    assert launched.returncode == 0, launched.stdout + launched.stderr
    (run,) = json.loads((folder / "runs.json").read_text())
    assert (run["assets"], run["status"]) == (["comments"], "SUCCESS")
    assert run["url"] == f"{loop['url']}/{BRANCH}/runs/{run['run_id']}"

    state = ForgeState()
    state.github[("acme/platform", PULL_REQUEST)] = thread = Thread()
    with forge(state) as api:
        github = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "acme/platform", "GITHUB_API_URL": api}
        first = report(loop, github, "--post=github", f"--pull-request={PULL_REQUEST}")
        # Production moves on after the clone: the next push's report says its base is older than production.
        materialize_production(loop["production_instance"], loop["production_path"], loop["base_url"])
        second = report(loop, github, "--post=github", f"--pull-request={PULL_REQUEST}")

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    (comment,) = thread.comments
    assert [method for method, _ in state.requests if method != "GET"] == ["POST", "PATCH"]
    assert comment["body"] == f"{MARKER}\n{second.stdout.split('The report updated')[0].rstrip()}\n"
    removed = dead_comments(loop["production_path"])
    assert removed > 0, "the served data has dead comments, or the change would show nothing"
    body = first.stdout
    assert "**Changed**: `comments` (code_version)." in body
    assert f"| [`{run['run_id'][:8]}`]({run['url']}) | `comments` |  | SUCCESS |" in body
    assert f"| rows added | rows removed | rows changed |\n|---:|---:|---:|\n| 0 | {removed} | 0 |" in body
    assert "| `comments_match_items` | `comments` |  | ERROR |" in body  # the change breaks what that check guards
    assert "older than production" not in body
    assert "Production materialized `comments` at" in second.stdout
    assert "the base is older than production" in second.stdout


def test_gitlab_gets_one_merge_request_note_and_the_same_report(loop) -> None:
    state = ForgeState()
    state.gitlab[("17", PULL_REQUEST)] = thread = Thread()
    with forge(state) as api:
        gitlab = {
            "GITLAB_API_TOKEN": TOKEN,
            "CI_API_V4_URL": f"{api}/api/v4",
            "CI_PROJECT_ID": "17",
            "CI_MERGE_REQUEST_IID": str(PULL_REQUEST),
        }
        first = report(loop, gitlab, "--post=gitlab")
        second = report(loop, gitlab, "--post=gitlab")

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    (note,) = thread.comments
    assert note["body"].startswith(f"{MARKER}\n## How this pull request changes the data")
    assert [method for method, _ in state.requests if method != "GET"] == ["POST", "PUT"]


def test_missing_settings_are_listed_by_name(loop) -> None:
    without_token = {key: value for key, value in loop["env"].items() if key != "DAGSTER_CLOUD_API_TOKEN"}
    without_forge = {key: value for key, value in loop["env"].items() if not key.startswith("GITHUB_")}

    unread = report({**loop, "env": without_token}, {}, "--post=github")
    unposted = report({**loop, "env": without_forge}, {}, "--post=github")

    assert (unread.returncode, unread.stdout) == (2, ""), "nothing is asked of Dagster+ without its token"
    assert "error: no report: missing environment variables: DAGSTER_CLOUD_API_TOKEN" in unread.stderr
    assert unposted.returncode == 2
    assert unposted.stdout.startswith("## How this pull request changes the data"), "the log still holds the report"
    assert "missing settings to post on github: GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL, --pull-request" in (
        unposted.stderr
    )

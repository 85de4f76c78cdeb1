"""deploy/ci/plan_changed_assets.sh: the base commit fingerprinted in a worktree of its own, compared with the checkout.

`uv` is a stand-in here that answers as ``python -m hn_assets.changes`` does and records where it ran (the command
itself is tested in packages/hn_assets/tests/test_changes.py); git is real.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "ci" / "plan_changed_assets.sh"
FAKE_UV = """#!/usr/bin/env bash
# `uv run ... python -m hn_assets.changes fingerprint|plan BASE.json`, answered from the checkout it runs in.
echo "$PWD $*" >> "$FAKE_UV_LOG"
case "$*" in
  *" fingerprint"*)
    [ -n "${FAKE_UV_FAIL:-}" ] && { echo "No module named hn_assets.changes" >&2; exit 1; }
    printf '{"made_at": "%s"}' "$(cat version.txt)" ;;
  *" plan "*)
    for arg in "$@"; do case "$arg" in *.json) base="$arg";; esac; done
    printf '{"runs": [], "changed": {"base": %s, "head": "%s"}, "removed": []}' "$(cat "$base")" "$(cat version.txt)" ;;
esac
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def commit(repo: Path, version: str) -> str:
    (repo / "version.txt").write_text(version)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", version)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, "base")
    git(repo, "checkout", "-qb", "feature")
    commit(repo, "head")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text(FAKE_UV)
    (bin_dir / "uv").chmod(0o755)
    return repo


def plan(repo: Path, base: str = "HEAD~1", **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{repo.parent / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_UV_LOG": str(repo.parent / "uv.log"),
        **extra,
    }
    return subprocess.run(
        ["bash", str(SCRIPT), base, str(repo.parent / "plan.json")],
        cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_base_is_fingerprinted_in_its_own_worktree_and_compared_with_the_checkout(repo: Path) -> None:
    completed = plan(repo, RECENT_PARTITIONS="5")

    assert completed.returncode == 0, completed.stderr
    document = json.loads((repo.parent / "plan.json").read_text())
    assert document["changed"] == {"base": {"made_at": "base"}, "head": "head"}
    fingerprint, planned = (repo.parent / "uv.log").read_text().splitlines()
    assert "/base run --locked" in fingerprint
    assert fingerprint.endswith("fingerprint")
    assert planned.startswith(f"{repo} run --locked")
    assert planned.endswith("--recent-partitions 5")
    assert git(repo, "worktree", "list").count("\n") == 0, "the worktree is removed"
    assert (repo / "version.txt").read_text() == "head", "the checkout is untouched"


def test_a_base_that_cannot_be_fingerprinted_runs_every_asset_with_a_warning(repo: Path) -> None:
    completed = plan(repo, FAKE_UV_FAIL="1", GITHUB_ACTIONS="true")
    elsewhere = plan(repo, FAKE_UV_FAIL="1", GITHUB_ACTIONS="")

    assert completed.returncode == 0, completed.stderr
    assert json.loads((repo.parent / "plan.json").read_text())["changed"]["base"] == {}
    assert "::warning title=Data diff::the base commit" in completed.stdout
    assert "warning: the base commit" in elsewhere.stderr
    assert "every asset runs in the clone" in completed.stdout + completed.stderr


def test_what_was_merged_to_the_base_branch_since_is_not_the_pull_request_s_change(repo: Path) -> None:
    git(repo, "checkout", "-q", "-")  # the base branch moves on after the pull request left it
    main_tip = commit(repo, "main moved on")
    git(repo, "checkout", "-q", "feature")

    completed = plan(repo, base=main_tip)

    assert completed.returncode == 0, completed.stderr
    assert json.loads((repo.parent / "plan.json").read_text())["changed"]["base"] == {"made_at": "base"}


def test_an_unknown_base_commit_fails_before_planning_and_says_why(repo: Path) -> None:
    completed = plan(repo, base="0" * 40)

    assert completed.returncode == 2
    assert f"the base commit '{'0' * 40}' is not in this checkout: fetch the full history" in completed.stderr
    assert not (repo.parent / "plan.json").exists()
    assert not (repo.parent / "uv.log").exists()

""".ci/shellcheck_scripts.py: the repository's shell passes shellcheck, and a defect planted in a copy of each kind
of input (a workflow's `run:` step, a GitLab job's script, a shell script) is reported at its line and column.

The checker runs in this process (its `main`) except once, as .ci/run calls it; the defect is always the same
word-splitting bug, an unquoted `$PLANTED_DIR` (SC2086), so each test shows the input's own path to shellcheck and
back to the file's line works.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKER = ROOT / ".ci" / "shellcheck_scripts.py"
DEPLOY_WORKFLOW = ROOT / ".github" / "workflows" / "dagster-plus-deploy.yml"
GITLAB_CI = ROOT / ".gitlab-ci.yml"
PLAN_SCRIPT = ROOT / "deploy" / "ci" / "plan_changed_assets.sh"
BUG = "ls $PLANTED_DIR"

# The command imports its package shell_lint from beside it, as `python .ci/shellcheck_scripts.py` finds it.
sys.path.insert(0, str(CHECKER.parent))
checker = importlib.import_module(CHECKER.stem)


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Exit status, the finding lines, and the summary."""
    status = checker.main(list(args))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def planted(lines: list[str], after: re.Pattern[str]) -> tuple[list[str], int, int]:
    """The lines with BUG inserted after the first line matching `after`, indented as the line that followed it (a
    YAML list item's `- ` included); and the 1-based line and column where `$PLANTED_DIR` then stands."""
    index = next(i for i, line in enumerate(lines) if after.search(line))
    indent = re.match(r" *(?:- )?", lines[index + 1]).group(0)
    lines = [*lines[: index + 1], indent + BUG, *lines[index + 1 :]]
    return lines, index + 2, len(indent) + BUG.index("$") + 1


def test_the_repository_passes_as_ci_runs_it():
    completed = subprocess.run(
        [sys.executable, str(CHECKER)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = re.search(
        r"(\d+) workflow steps, (\d+) GitLab job scripts, (\d+) script files: 0 findings", completed.stderr
    )
    assert summary, completed.stderr
    steps, jobs, files = map(int, summary.groups())
    # Everything was found, not nothing checked.
    assert steps >= 5
    assert jobs >= 10
    assert files >= 3


def test_a_workflow_step_with_a_word_splitting_bug_is_reported_at_its_line(tmp_path, capsys):
    lines, line, column = planted(DEPLOY_WORKFLOW.read_text(encoding="utf-8").splitlines(), re.compile(r"run: \|$"))
    copy = tmp_path / DEPLOY_WORKFLOW.name
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")

    status, findings, _ = lint(capsys, "--workflow", str(copy))
    assert status == 1
    ((finding),) = findings
    assert finding.startswith(f"{copy}:{line}:{column}: SC2086 (info): Double quote to prevent globbing")
    assert re.search(r"\[job \w+, step ", finding)


def test_a_gitlab_job_with_a_word_splitting_bug_is_reported_at_its_line(tmp_path, capsys):
    lines, line, column = planted(GITLAB_CI.read_text(encoding="utf-8").splitlines(), re.compile(r"^  script:$"))
    copy = tmp_path / ".gitlab-ci.yml"
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")

    status, findings, _ = lint(capsys, "--gitlab-ci", str(copy))
    assert status == 1
    ((finding),) = findings
    assert finding.startswith(f"{copy}:{line}:{column}: SC2086 (info): Double quote to prevent globbing")
    assert re.search(r"\[job \S+, script \((bash|sh): ", finding)


def test_a_shell_script_with_a_word_splitting_bug_is_reported_at_its_line(tmp_path, capsys):
    lines = PLAN_SCRIPT.read_text(encoding="utf-8").splitlines()
    copy = tmp_path / PLAN_SCRIPT.name
    copy.write_text("\n".join([*lines, BUG]) + "\n", encoding="utf-8")

    status, findings, _ = lint(capsys, "--script", str(copy))
    assert status == 1
    assert findings == [
        f"{copy}:{len(lines) + 1}:4: SC2086 (info): Double quote to prevent globbing and word splitting [script]"
    ]


def test_workflow_steps_are_checked_with_the_shell_actionlint_gives_them(tmp_path, capsys):
    """The step's shell, else the job's default, else the workflow's, else bash (pwsh on Windows runners, and any
    shell shellcheck does not know, are skipped); `${{ }}` stands in as underscores; SC2154 is excluded."""
    workflow = tmp_path / "shells.yml"
    workflow.write_text(
        """on: push
defaults:
  run:
    shell: sh
jobs:
  posix:
    runs-on: ubuntu-24.04
    steps:
      - run: if [[ -n "${{ github.sha }}" ]]; then echo "$undefined_but_from_env"; fi
      - run: if [[ -n "$X" ]]; then echo; fi
        shell: bash
      - run: print($PLANTED_DIR)
        shell: python
  bash_job:
    runs-on: ubuntu-24.04
    defaults:
      run:
        shell: bash -x {0}
    steps:
      - run: |
          if [[ -n "$X" ]]; then
            ls $PLANTED_DIR
          fi
""",
        encoding="utf-8",
    )
    windows = tmp_path / "windows.yml"  # no `defaults:`, which would win over the runner's pwsh
    windows.write_text(
        "on: push\njobs:\n  w:\n    runs-on: [windows-2025]\n    steps:\n      - run: ls $PLANTED_DIR\n",
        encoding="utf-8",
    )
    status, findings, summary = lint(capsys, "--workflow", str(workflow), "--workflow", str(windows))
    assert status == 1
    assert [f.split(": ")[:2] for f in findings] == [
        [f"{workflow}:9:17", "SC3010 (warning)"],  # [[ ]] under the workflow's sh
        [f"{workflow}:22:16", "SC2086 (info)"],  # the job's `bash -x {0}`: bash, so only the quoting
    ]
    assert "3 workflow steps" in summary
    assert "shell python" in summary
    assert "shell pwsh" in summary


def test_gitlab_jobs_are_resolved_as_gitlab_does(tmp_path, capsys):
    """`extends`, `default:`, `inherit`, `!reference` and `after_script`; bash in an image known to have it, POSIX
    sh in any other, a variable in `image:` expanded."""
    config = tmp_path / ".gitlab-ci.yml"
    config.write_text(
        """variables:
  IMAGE: docker:28.2
default:
  image: ghcr.io/astral-sh/uv:0.13.8-python3.11-trixie
  before_script:
    - '[[ -n "$CI" ]]'
.listing:
  script:
    - |
      echo "listing"
      ls $PLANTED_DIR
with-defaults:
  extends: .listing
  after_script:
    - rm -r $PLANTED_DIR
in-docker:
  image: $IMAGE
  inherit:
    default: false
  script:
    - !reference [.listing, script]
    - '[[ -n "$CI" ]]'
""",
        encoding="utf-8",
    )
    status, findings, summary = lint(capsys, "--gitlab-ci", str(config))
    assert status == 1
    assert [f.split(": ")[:2] for f in findings] == [
        [f"{config}:11:10", "SC2086 (info)"],
        [f"{config}:15:13", "SC2086 (info)"],
        [f"{config}:22:8", "SC3010 (warning)"],  # [[ ]] is bash: an error only in docker's sh
    ]
    (template,) = [f for f in findings if ":11:10:" in f]
    assert "job with-defaults, script (bash: ghcr.io/astral-sh/uv" in template
    assert "job in-docker, script (sh: docker:28.2)" in template
    assert "3 GitLab job scripts" in summary


def test_a_gitlab_include_is_refused_rather_than_checked_in_part(tmp_path, capsys):
    config = tmp_path / ".gitlab-ci.yml"
    config.write_text("include: ci/jobs.yml\njob:\n  script: [echo]\n", encoding="utf-8")
    status, findings, summary = lint(capsys, "--gitlab-ci", str(config))
    assert (status, findings) == (2, [])
    assert "include" in summary


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_repository_s_tracked_shell_scripts_are_found_by_their_shebang(tmp_path, capsys):
    (tmp_path / "tool").write_text(f"#!/bin/sh\n{BUG}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text(f"{BUG}\n", encoding="utf-8")
    (tmp_path / "untracked.sh").write_text(f"#!/bin/sh\n{BUG}\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "tool", "notes.txt"], check=True)

    status, findings, summary = lint(capsys, "--root", str(tmp_path))
    assert status == 1
    assert [f.split(": ")[:2] for f in findings] == [["tool:2:4", "SC2086 (info)"]]
    assert "0 workflow steps, 0 GitLab job scripts, 1 script files" in summary

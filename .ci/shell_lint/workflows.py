"""GitHub Actions workflows' `run:` steps (`.github/workflows/*.yml`), checked as actionlint's shellcheck rule does.

Modelled on actionlint v1.7.7's `rule_shellcheck.go`
(https://github.com/rhysd/actionlint/blob/v1.7.7/rule_shellcheck.go), line by line:

- every step with `run:` is checked (`VisitStep`, lines 54-62);
- its shell is the step's `shell:`, else the job's `defaults.run.shell`, else the workflow's, else `pwsh` on a
  runner labelled `windows`/`windows-*`, else `bash` (`getShellName`, lines 106-122, with `VisitJobPre`, lines
  65-83): on Linux and macOS runners GitHub runs a step without `shell:` with bash (sh only where there is no
  bash, which GitHub-hosted runners always have);
- only `bash`, `sh`, `bash ...` and `sh ...` are checked, as `--shell bash` or `--shell sh`; any other shell
  (python, pwsh, ...) is skipped (`runShellcheck`, lines 163-173);
- each `${{ ... }}` is replaced by as many underscores as it has bytes, so the script keeps its columns and
  parses (`sanitizeExpressionsInScript`, lines 124-161);
- the script is prefixed with `set -eo pipefail` for bash, `set -e` for sh, as GitHub runs it, and the first
  line is taken off shellcheck's line numbers (lines 195-201 and 226-231);
- shellcheck runs as `--norc -x --shell SH -e SC1091,SC2194,SC2050,SC2154,SC2157,SC2043` (line 192; the
  comment above it gives each exclusion's reason: files that exist only on the runner, words and tests made
  constant by the underscores, variables set by `env:`), with no `-S`: every finding down to style level
  counts. actionlint asks for `-f json`; this asks for the same findings as `-f json1`, whose columns count a
  tab as one character, as the file does.

actionlint reports every finding at the `run:` key; here the line and column inside the script are mapped back
to the YAML where its text stands line for line (a `|` block or a one-line string), else the finding is placed
at the start of the script and names the line in the script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CheckError
from .located_yaml import load_yaml
from .script import Piece, Script

# rule_shellcheck.go line 192.
WORKFLOW_EXCLUDED = ("SC1091", "SC2194", "SC2050", "SC2154", "SC2157", "SC2043")


def sanitize_expressions(script: str) -> tuple[str, bool]:
    """`${{ ... }}` replaced by one underscore per byte, as actionlint's sanitizeExpressionsInScript does; and
    whether the lines stayed as they were (an expression over several lines becomes one line of underscores)."""
    parts, same_lines, rest = [], True, script
    while (start := rest.find("${{")) != -1 and (end := rest.find("}}", start)) != -1:
        expression = rest[start : end + 2]
        same_lines = same_lines and "\n" not in expression
        parts += [rest[:start], "_" * len(expression.encode("utf-8"))]
        rest = rest[end + 2 :]
    return "".join(parts) + rest, same_lines


def shellcheck_shell(shell: str) -> str | None:
    """The --shell actionlint passes for a step's shell, or None where it does not run shellcheck."""
    if shell in ("bash", "sh"):
        return shell
    for name in ("bash", "sh"):
        if shell.startswith(name + " "):
            return name
    return None


def run_shell(mapping: Any) -> str | None:
    """`defaults.run.shell` of a workflow or a job, which a step without `shell:` runs with."""
    run = mapping.get("defaults", {}) if isinstance(mapping, dict) else {}
    run = run.get("run", {}) if isinstance(run, dict) else {}
    return run.get("shell") if isinstance(run, dict) else None


def runner_labels(runs_on: Any) -> list[str]:
    """The labels of `runs-on` in any of its forms: a Windows label makes the default shell pwsh."""
    if isinstance(runs_on, str):
        return [runs_on]
    if isinstance(runs_on, list):
        return [label for label in runs_on if isinstance(label, str)]
    if isinstance(runs_on, dict):
        return runner_labels(runs_on.get("labels", []))
    return []


def workflow_scripts(path: Path) -> tuple[list[Script], list[str]]:
    """The workflow's `run:` steps as actionlint's shellcheck rule checks them; and the steps it skips, and why."""
    workflow = load_yaml(path)
    if not isinstance(workflow, dict) or not isinstance(workflow.get("jobs"), dict):
        raise CheckError(f"{path}: not a GitHub Actions workflow (no `jobs:` mapping)")
    scripts, skipped = [], []
    workflow_shell = run_shell(workflow)
    for job_id, job in workflow["jobs"].items():
        if not isinstance(job, dict):
            continue
        job_shell = run_shell(job)
        windows = any(
            label.lower() == "windows" or label.lower().startswith("windows-")
            for label in runner_labels(job.get("runs-on"))
        )
        for index, step in enumerate(job.get("steps") or [], start=1):
            if not isinstance(step, dict) or not isinstance(step.get("run"), str):
                continue
            where = f"job {job_id!s}, step {step.get('name') or step.get('id') or index!s}"
            shell = step.get("shell") or job_shell or workflow_shell or ("pwsh" if windows else "bash")
            sh = shellcheck_shell(str(shell))
            if sh is None:
                skipped.append(f"{path}: {where}: shell {shell!s} (not checked, as actionlint does not)")
                continue
            text, same_lines = sanitize_expressions(step["run"])
            setup = "set -eo pipefail" if sh == "bash" else "set -e"
            scripts.append(
                Script(
                    path=path,
                    where=where,
                    text=f"{setup}\n{text}\n",
                    shell=sh,
                    excluded=WORKFLOW_EXCLUDED,
                    pieces=(Piece(1, step["run"]),),
                    offset=1,
                    mapped=same_lines,
                )
            )
    return scripts, skipped

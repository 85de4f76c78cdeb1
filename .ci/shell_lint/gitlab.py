"""GitLab CI/CD job scripts (`.gitlab-ci.yml`), each job resolved as GitLab runs it.

Jobs are resolved as GitLab does, as far as this file's features go: `extends` (hashes merged deeply, anything else
replaced, the job's own keys winning), `default:` (and the old top-level `image`, `before_script`, `after_script`)
for the keywords a job does not set unless `inherit: default` says otherwise, and `!reference [job, key, ...]` tags,
with nested script lists flattened. Hidden jobs (`.name`) are templates: they are checked through the jobs that
extend them. A file with `include:` is refused rather than checked in part. The runner runs `before_script` and
`script` in one shell and `after_script` in another (https://docs.gitlab.com/ci/yaml/#after_script), so they are
checked as two scripts, each prefixed as GitLab's generated script sets it (`set -o pipefail` where the shell has
it, then `set -o errexit`: gitlab-runner `shells/bash.go`, `BashWriter.Finish`).

Which shell: the Docker executor starts the job's image with a detection script that execs the first of
/usr/local/bin/bash, /usr/bin/bash, /bin/bash, then the same for sh (gitlab-runner `shells/bash.go`,
`BashDetectShellScript`, https://gitlab.com/gitlab-org/gitlab-runner/-/blob/main/shells/bash.go; and
https://docs.gitlab.com/runner/shells/: bash is the default on Unix systems, sh its fallback).
An image is known to have bash only if IMAGE_SHELLS says so; any other image is checked as POSIX sh, which a
script that passes also satisfies under bash. Excluded: SC1090 and SC1091 (a job sources files that earlier
jobs hand over as artifacts, which are not in the checkout) and SC2154 (variables come from `variables:` and
the project's CI/CD settings).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import CheckError
from .located_yaml import Reference, load_yaml
from .script import Script, joined

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
    """`$NAME` and `${NAME}` replaced by the variable's value, so that `image: $IMAGE` names the image it runs."""

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

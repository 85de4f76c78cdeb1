"""dagster_cloud.yaml, workspace.yaml and the environment templates agree with each other and with the code."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster_cloud_cli.commands.ci.checks import check_dagster_cloud_yaml
from dagster_cloud_cli.config.models import load_dagster_cloud_yaml

ROOT = Path(__file__).resolve().parents[1]
DAGSTER_CLOUD_YAML = ROOT / "dagster_cloud.yaml"
WORKSPACE_YAML = ROOT / "workspace.yaml"
ENV_DIR = ROOT / "deploy" / "env"

# The contract: location name -> (module, attribute, distribution).
LOCATIONS = {
    "hn_assets": ("hn_assets.definitions", "defs", "hn-assets"),
    "db_ops": ("db_ops.definitions", "defs", "db-ops"),
}


def cloud_config():
    return load_dagster_cloud_yaml(DAGSTER_CLOUD_YAML.read_text(encoding="utf-8"))


def test_cli_model_and_checks_accept_dagster_cloud_yaml():
    result = check_dagster_cloud_yaml(DAGSTER_CLOUD_YAML)
    assert result.errors == []


def test_dagster_cloud_ci_check_passes_offline():
    cli = Path(sys.executable).with_name("dagster-cloud")
    completed = subprocess.run(
        [str(cli), "ci", "check", "--project-dir", str(ROOT), "--dagster-cloud-connect-check", "skip"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Checked OK" in completed.stdout


def test_cli_model_rejects_what_it_should(tmp_path):
    """The validation above is only worth something if the same model fails on a broken file."""
    broken = tmp_path / "dagster_cloud.yaml"
    broken.write_text(
        "locations:\n"
        "  - location_name: a\n"
        "    code_source: {module_name: a.definitions, package_name: a}\n"
        "  - location_name: a\n"
        "    code_source: {module_name: b.definitions}\n"
        "    build: {directory: does-not-exist}\n",
        encoding="utf-8",
    )
    assert check_dagster_cloud_yaml(broken).errors
    broken.write_text(
        "locations:\n  - location_name: a\n    code_source: {module_name: a}\n    build: {directory: nope}\n",
        encoding="utf-8",
    )
    assert any("Build directory" in error for error in check_dagster_cloud_yaml(broken).errors)


def test_locations_match_the_contract():
    config = cloud_config()
    found = {
        location.location_name: (location.code_source.module_name, location.attribute) for location in config.locations
    }
    assert found == {name: (module, attribute) for name, (module, attribute, _) in LOCATIONS.items()}


@pytest.mark.parametrize("location_name", sorted(LOCATIONS))
def test_each_location_builds_on_its_own(location_name):
    location = next(loc for loc in cloud_config().locations if loc.location_name == location_name)
    assert location.build is not None
    assert location.build.registry, "each location pushes to its own registry repository"
    context = (ROOT / (location.build.directory or ".")).resolve()
    assert context.is_dir()
    # The build context must hold the workspace lock and every member's manifest for `uv sync --locked`.
    assert (context / "uv.lock").is_file()
    assert (context / "pyproject.toml").is_file()
    dockerfile = ROOT / "deploy" / location_name / "Dockerfile"
    assert dockerfile.is_file()
    assert dockerfile.resolve().is_relative_to(ROOT)


def test_registries_are_distinct():
    registries = [location.build.registry for location in cloud_config().locations]
    assert len(set(registries)) == len(registries)


def test_workspace_yaml_loads_the_same_locations():
    workspace = yaml.safe_load(WORKSPACE_YAML.read_text(encoding="utf-8"))
    entries = {}
    for entry in workspace["load_from"]:
        (kind, spec) = next(iter(entry.items()))
        assert kind == "python_module"
        entries[spec["location_name"]] = (spec["module_name"], spec["attribute"])
    assert entries == {name: (module, attribute) for name, (module, attribute, _) in LOCATIONS.items()}


@pytest.mark.parametrize("location_name", sorted(LOCATIONS))
def test_build_info_script_reads_the_cli_model(location_name):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "build_info.py"), location_name, str(DAGSTER_CLOUD_YAML)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values = dict(line.split("=", 1) for line in completed.stdout.splitlines())
    location = next(loc for loc in cloud_config().locations if loc.location_name == location_name)
    assert shlex.split(values["REGISTRY"]) == [location.build.registry]
    assert Path(shlex.split(values["BUILD_DIRECTORY"])[0]).resolve() == ROOT


def test_build_info_script_fails_on_unknown_location():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "build_info.py"), "nope", str(DAGSTER_CLOUD_YAML)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "nope" in completed.stderr


# ---- environment templates: names, no secret values ----

ENV_LINE = re.compile(r"^(#)?([A-Z][A-Z0-9_]*)=(.*)$")
SECRET_NAME = re.compile(r"(USER|PASSWORD|PRIVATE_KEY|ACCOUNT|TOKEN|SECRET)$")
TEMPLATES = {
    "production": {
        "required": {"DAGSTER_DEPLOYMENT", "SNOWFLAKE_ACCOUNT", "SYSTEM_SNOWFLAKE_USER"},
        "one_of": {"SYSTEM_SNOWFLAKE_PASSWORD", "SYSTEM_SNOWFLAKE_PRIVATE_KEY"},
        "forbidden_prefixes": ("BRANCH_", "DEV_"),
    },
    "staging": {
        "required": {"DAGSTER_DEPLOYMENT", "SNOWFLAKE_ACCOUNT", "SYSTEM_SNOWFLAKE_USER"},
        "one_of": {"SYSTEM_SNOWFLAKE_PASSWORD", "SYSTEM_SNOWFLAKE_PRIVATE_KEY"},
        "forbidden_prefixes": ("BRANCH_", "DEV_"),
    },
    "branch": {
        "required": {"SNOWFLAKE_ACCOUNT", "BRANCH_SNOWFLAKE_USER"},
        "one_of": {"BRANCH_SNOWFLAKE_PASSWORD", "BRANCH_SNOWFLAKE_PRIVATE_KEY"},
        # A branch deployment never gets production's credentials, and never claims to be production.
        "forbidden_prefixes": ("SYSTEM_", "DEV_", "DAGSTER_DEPLOYMENT"),
    },
    "local": {
        "required": {"DAGSTER_DEPLOYMENT"},
        "one_of": set(),
        "forbidden_prefixes": ("SYSTEM_", "BRANCH_"),
    },
}
EXPECTED_DEPLOYMENT = {"production": "production", "staging": "staging", "local": "local"}


def parse_template(path: Path) -> dict[str, tuple[bool, str]]:
    """NAME -> (optional, value) for every `NAME=` or `#NAME=` line."""
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ENV_LINE.match(line.strip())
        if match:
            optional, name, value = match.groups()
            names[name] = (optional is not None, value)
    return names


def test_there_is_a_template_per_environment():
    assert sorted(p.name for p in ENV_DIR.glob("*.env.example")) == sorted(f"{n}.env.example" for n in TEMPLATES)


@pytest.mark.parametrize("environment", sorted(TEMPLATES))
def test_env_template(environment):
    spec = TEMPLATES[environment]
    names = parse_template(ENV_DIR / f"{environment}.env.example")
    active = {name for name, (optional, _) in names.items() if not optional}
    assert spec["required"] <= active
    assert not spec["one_of"] or spec["one_of"] <= set(names)
    assert not [n for n in names if n.startswith(spec["forbidden_prefixes"])]
    for name, (_, value) in names.items():
        if name == "DAGSTER_DEPLOYMENT":
            assert value == EXPECTED_DEPLOYMENT[environment]
        elif name != "HN_LOCAL_WAREHOUSE":
            assert value == "", f"{name} has a value in a committed template"
        if SECRET_NAME.search(name):
            assert value == ""


def test_env_templates_are_not_ignored_by_git():
    completed = subprocess.run(
        ["git", "check-ignore", "--no-index", "--quiet", "deploy/env/production.env.example"],
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 1, "deploy/env/*.env.example must be committed"


# ---- .ci/validate-definitions: each location loaded with exactly its environment's variables ----

# Set by Dagster+ in branch deployments, so not in branch.env.example.
SET_BY_DAGSTER_PLUS = {"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "DAGSTER_CLOUD_PULL_REQUEST_ID"}
# What the caller may pass on: what uv needs (its settings and cache, the shell's own variables), and DAGSTER_HOME.
INFRASTRUCTURE = {"PATH", "HOME", "UV_CACHE_DIR", "DAGSTER_HOME", "PWD", "OLDPWD", "SHLVL", "_"}


def test_validate_definitions_runs_each_location_in_a_clean_environment(tmp_path):
    """Nothing from the caller leaks into the validation: a stand-in `uv` records what each call gets."""
    calls = tmp_path / "calls"
    calls.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "uv"
    stub.write_text(
        f'#!/bin/sh\nenv > "{calls}/$$.env"\n',  # the calls run at once: one file per process
        encoding="utf-8",
    )
    stub.chmod(0o755)
    leaks = {
        "DAGSTER_CLOUD_DEPLOYMENT_NAME": "prod",
        "DAGSTER_DEPLOYMENT": "leaked",
        "SNOWFLAKE_DATABASE": "PRODUCTION",
        "SYSTEM_SNOWFLAKE_PRIVATE_KEY_PASSWORD": "leaked",
        "DEV_SNOWFLAKE_PRIVATE_KEY": "leaked",
        "BRANCH_SNOWFLAKE_ROLE": "leaked",
    }
    completed = subprocess.run(
        [str(ROOT / ".ci" / "validate-definitions")],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
            **leaks,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr

    environments = []
    for dump in sorted(calls.glob("*.env")):
        variables = dict(line.split("=", 1) for line in dump.read_text(encoding="utf-8").splitlines() if "=" in line)
        assert variables["UV_CACHE_DIR"] == str(tmp_path / "uv-cache"), "uv keeps its settings"
        if variables.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT") == "1":
            environment = "branch"
        else:
            environment = variables["DAGSTER_DEPLOYMENT"]
        environments.append(environment)
        documented = set(parse_template(ENV_DIR / f"{environment}.env.example"))
        if environment == "branch":
            documented |= SET_BY_DAGSTER_PLUS
        assert set(variables) - INFRASTRUCTURE <= documented, dump.name
        for name, value in leaks.items():
            assert variables.get(name) != value, f"{name} leaked into the {environment} validation"
    # local (DuckDB), local-snowflake, staging, production, branch: one `dg check defs` of both locations each.
    assert sorted(environments) == ["branch", "local", "local", "production", "staging"]

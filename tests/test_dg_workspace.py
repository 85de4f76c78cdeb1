"""The dg workspace (dg.toml and [tool.dg] in each project) names the same code locations as dagster_cloud.yaml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_dg_projects_are_the_dagster_cloud_locations() -> None:
    workspace = tomllib.loads((ROOT / "dg.toml").read_text())
    cloud = yaml.safe_load((ROOT / "dagster_cloud.yaml").read_text())

    projects = {}
    for spec in workspace["workspace"]["projects"]:
        pyproject = tomllib.loads((ROOT / spec["path"] / "pyproject.toml").read_text())
        assert pyproject["tool"]["dg"]["directory_type"] == "project"
        project = pyproject["tool"]["dg"]["project"]
        projects[project["code_location_name"]] = project["code_location_target_module"]

    assert workspace["directory_type"] == "workspace"
    assert projects == {
        location["location_name"]: location["code_source"]["module_name"] for location in cloud["locations"]
    }

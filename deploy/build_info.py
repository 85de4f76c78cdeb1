"""Print the image settings of one code location in dagster_cloud.yaml as shell assignments.

    python deploy/build_info.py LOCATION [DAGSTER_CLOUD_YAML]

prints ``REGISTRY=...`` (build.registry) and ``BUILD_DIRECTORY=...`` (build.directory, the Docker build context,
relative to the file), shell-quoted, for CI jobs that build the image without the dagster-cloud CLI (GitLab's
docker-in-docker job sources the output). The file is parsed with the dagster-cloud CLI's own model, so anything the
CLI would reject fails here too. Needs only ``dagster-cloud-cli`` (present in the dagster-cloud-action image).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from dagster_cloud_cli.config.models import load_dagster_cloud_yaml


def build_info(location_name: str, dagster_cloud_yaml: Path) -> dict[str, str]:
    config = load_dagster_cloud_yaml(dagster_cloud_yaml.read_text(encoding="utf-8"))
    matches = [location for location in config.locations if location.location_name == location_name]
    if not matches:
        known = ", ".join(location.location_name for location in config.locations)
        raise SystemExit(f"{dagster_cloud_yaml}: no location {location_name!r} (locations: {known})")
    build = matches[0].build
    if build is None or not build.registry:
        raise SystemExit(f"{dagster_cloud_yaml}: location {location_name!r} has no build.registry")
    directory = dagster_cloud_yaml.parent / (build.directory or ".")
    return {"REGISTRY": build.registry, "BUILD_DIRECTORY": str(directory)}


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: build_info.py LOCATION [DAGSTER_CLOUD_YAML]", file=sys.stderr)
        return 2
    path = Path(argv[1]) if len(argv) == 2 else Path("dagster_cloud.yaml")
    for name, value in build_info(argv[0], path).items():
        print(f"{name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

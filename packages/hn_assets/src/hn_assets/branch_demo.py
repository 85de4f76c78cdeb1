"""Rehearse a pull request on a laptop, offline: production, a clone, a change, its run in the clone, and the diff.

``uv run hn-branch-demo`` plays the whole loop a pull request goes through in Dagster+, on DuckDB files and the
offline HN API, with no account:

1. **production**: ``refresh_hacker_news`` fills a local warehouse (the file plays ``PRODUCTION``);
2. **the clone**: ``db_ops``' ``clone_prod`` job, launched as CI launches it (its own process, ``pr_id`` in run
   config), copies it into ``PRODUCTION_CLONE_<PR>.duckdb`` with the base schema ``HACKER_NEWS_BASE``;
3. **the change**: the pull request's definitions, here ``comments`` without the comments the site flagged dead;
4. **what it touches**: ``hn_assets.changes`` compares the fingerprints of both definitions (code versions read from
   source, dependencies, partitions, config and column schemas) and adds everything downstream;
5. **the run in the clone**: exactly those assets, with their checks, in the branch's definitions;
6. **the report**: each changed table's ``<asset>_differs_from_base`` check, printed as the pull request shows it.

To rehearse your own change, edit the code (say a transform in ``hn_core.transforms``), then run the same steps by
hand: ``python -m hn_assets.changes fingerprint`` on both commits, ``clone_prod`` with ``HN_DUCKDB_PATH`` on your
warehouse, and ``dg launch`` of the changed assets with ``HN_DUCKDB_PATH`` on the clone (the README shows the
commands).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import dagster as dg
import pandas as pd

from hn_assets.assets import COMMENTS_PREVIEW, COMMON, comments, items, stories, versioned_asset
from hn_assets.changes import changed_assets, fingerprints
from hn_assets.metadata import frame_metadata
from hn_assets.offline_api import serve_generated_items
from hn_core.deployment.environment import resolve_target
from hn_core.deployment.names import clone_database_name
from hn_core.transforms import comments_frame

DEMO_PULL_REQUEST = 1
WAREHOUSE_FILE = "local_warehouse.duckdb"


@versioned_asset(
    name="comments",
    description="The `items` of type `comment`, without those the site flagged dead (the rehearsed change).",
    **COMMON,
)
def comments_without_dead(context: dg.AssetExecutionContext, items: pd.DataFrame) -> pd.DataFrame:
    frame = comments_frame(items)
    frame = frame.loc[~frame["dead"]].reset_index(drop=True)
    context.add_output_metadata(frame_metadata(frame, COMMENTS_PREVIEW))
    return frame


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hn-branch-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000, help="N most recent items production holds (1 to 5,000)")
    parser.add_argument("--keep", type=Path, help="a folder to keep the warehouse and the clone in (default: none)")
    args = parser.parse_args(argv)
    if not 1 <= args.items <= 5_000:
        parser.error(f"argument --items: must be from 1 to 5,000, got {args.items:,}")
    return args


@contextmanager
def local_warehouse(path: Path, base_url: str) -> Iterator[Mapping[str, str]]:
    """The environment of a laptop whose warehouse is ``path``, on the offline API; yields it."""
    variables = {"DAGSTER_DEPLOYMENT": "local", "HN_DUCKDB_PATH": str(path), "HN_API_BASE_URL": base_url}
    with mock.patch.dict(os.environ, variables):
        for name in ("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "HN_LOCAL_WAREHOUSE"):
            os.environ.pop(name, None)
        yield dict(os.environ)


def definitions(latest: Sequence[dg.AssetsDefinition]) -> dg.Definitions:
    from hn_assets.definitions import location_definitions

    return location_definitions(resolve_target(os.environ), os.environ, latest)


def clone(pull_request_id: int, env: Mapping[str, str], folder: Path, commit: str | None = None) -> None:
    """``clone_prod`` in its own process, from db_ops' definitions, as CI launches it (this location never imports
    the other), for ``commit`` if given."""
    config = folder / "clone_prod.json"  # `dagster job execute` reads run config from a file (JSON is YAML)
    op_config = {"pr_id": str(pull_request_id), **({"commit": commit} if commit else {})}
    config.write_text(json.dumps({"ops": {"clone_production_database": {"config": op_config}}}))
    command = [sys.executable, "-m", "dagster", "job", "execute", "-m", "db_ops.definitions", "-j", "clone_prod"]
    done = subprocess.run([*command, "-c", str(config)], env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0 or "RUN_SUCCESS" not in done.stdout + done.stderr:
        raise SystemExit(f"hn-branch-demo: clone_prod failed:\n{done.stderr[-2000:]}")


def run(definitions: dg.Definitions, selection: Sequence[str], run_config: dict | None = None):
    job = dg.define_asset_job("branch_demo", selection=dg.AssetSelection.assets(*selection))
    merged = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = merged.resolve_job_def("branch_demo").execute_in_process(
        run_config={**(run_config or {}), **quiet}, raise_on_error=False
    )
    if not result.success:
        raise SystemExit(f"hn-branch-demo: the run of {', '.join(selection)} failed; see the log above.")
    return result


def report(result: dg.ExecuteInProcessResult) -> list[str]:
    """The pull request's report: each changed table's diff, then every check that did not pass."""
    lines = []
    evaluations = result.get_asset_check_evaluations()
    for evaluation in evaluations:
        if evaluation.check_name.endswith("_differs_from_base"):
            lines += [evaluation.metadata["diff"].value, ""]
    failed = [e.check_name for e in evaluations if not e.passed]
    lines.append("Checks that did not pass: " + (", ".join(failed) if failed else "none") + ".")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        production_path = folder / WAREHOUSE_FILE
        clone_path = folder / f"{clone_database_name(DEMO_PULL_REQUEST)}.duckdb"
        with serve_generated_items(5_000, irregular=True) as base_url:
            with local_warehouse(production_path, base_url):
                production = definitions([items, comments, stories])
                run(
                    production,
                    ["items", "comments", "stories"],
                    {"ops": {"items": {"config": {"base_item_id": args.items}}}},
                )
                print(f"1. Production: {args.items:,} items, their comments and stories in {production_path}")
                clone(DEMO_PULL_REQUEST, os.environ, folder)
                print(f"2. Clone for pull request {DEMO_PULL_REQUEST}: {clone_path}, with the base HACKER_NEWS_BASE")
            with local_warehouse(clone_path, base_url):
                branch = definitions([items, comments_without_dead, stories])
                changed = changed_assets(fingerprints(production), fingerprints(branch))
                print("3. The change: comments without those the site flagged dead")
                print("4. It touches: " + "; ".join(f"{key} ({', '.join(why)})" for key, why in changed.items()))
                result = run(branch, list(changed))
                print(f"5. Ran {', '.join(changed)} in the clone, checks included")
        print("6. The report:\n")
        print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

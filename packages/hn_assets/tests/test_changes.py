"""What a change touches: code versions that reach the transforms, and the assets to run from two fingerprints."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg
import pytest

from hn_assets.assets import comments, items, stories
from hn_assets.changes import Fingerprint, Launch, changed_assets, fingerprints, from_json, main, plan, to_json
from hn_assets.code_version import reached
from hn_assets.definitions import defs


def sources(asset) -> set[str]:
    return set(reached(asset.op.compute_fn.decorated_fn))


def test_the_assets_versions_reach_the_transforms_they_call_and_only_those() -> None:
    of_comments, of_stories, of_items = sources(comments), sources(stories), sources(items)

    assert {"hn_core.transforms.comments_frame", "hn_core.transforms.items_of_type"} <= of_comments
    assert {"hn_core.transforms.stories_frame", "hn_core.transforms.items_of_type"} <= of_stories
    assert {"hn_core.transforms.items_frame", "hn_core.transforms._record"} <= of_items
    assert "hn_core.transforms.items_of_type" not in of_items
    assert "hn_core.transforms.comments_frame" not in of_stories
    assert all(asset.code_versions_by_key[asset.key] for asset in (comments, stories, items))


def test_code_versions_are_the_same_in_every_process() -> None:
    """Fingerprints of two commits come from two processes: nothing of a version may depend on the process."""
    script = "from hn_assets.definitions import defs; from hn_assets.changes import fingerprints, to_json; "
    script += "print(to_json(fingerprints(defs())))"
    outputs = [
        subprocess.run(
            [sys.executable, "-W", "ignore", "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed, "DAGSTER_DEPLOYMENT": "local"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]

    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["items"]["code_version"] == items.code_versions_by_key[items.key]


@pytest.fixture(scope="module")
def base() -> dict[str, Fingerprint]:
    return fingerprints(defs())


def edited(prints: dict[str, Fingerprint], key: str, **changes: object) -> dict[str, Fingerprint]:
    return {**prints, key: dataclasses.replace(prints[key], **changes)}


def test_the_same_definitions_change_nothing(base) -> None:
    assert set(base) == {"items", "comments", "stories", "item_history"}
    assert changed_assets(base, fingerprints(defs())) == {}


def test_a_changed_leaf_runs_alone_and_a_changed_root_runs_with_everything_downstream(base) -> None:
    assert changed_assets(base, edited(base, "comments", code_version="other")) == {"comments": ["code_version"]}
    assert changed_assets(base, edited(base, "items", config_schema="Shape.other")) == {
        "comments": ["downstream of items"],
        "items": ["config_schema"],
        "stories": ["downstream of items"],
    }


def test_dependencies_partitions_and_column_schemas_count_and_a_new_asset_runs(base) -> None:
    head = edited(base, "item_history", partitions="Daily", column_schema=(("id", "int64"),))
    head = edited(head, "stories", dependencies=("item_history", "items"))
    head["top_stories"] = dataclasses.replace(base["stories"], dependencies=("stories",))
    del head["comments"]  # removed by the change: nothing to run, the diff reports it

    assert changed_assets(base, head) == {
        "item_history": ["partitions", "column_schema"],
        "stories": ["dependencies"],
        "top_stories": ["new"],
    }


def test_fingerprints_go_through_json_and_the_command_line(base, tmp_path, capsys) -> None:
    assert from_json(to_json(base)) == base
    (tmp_path / "base.json").write_text(to_json(base))
    (tmp_path / "head.json").write_text(to_json(edited(base, "items", code_version="x")))

    (tmp_path / "without_stories.json").write_text(to_json({k: v for k, v in base.items() if k != "stories"}))

    main(["compare", str(tmp_path / "base.json"), str(tmp_path / "head.json")])
    main(["compare", str(tmp_path / "base.json"), str(tmp_path / "without_stories.json")])

    assert capsys.readouterr().out.splitlines() == [
        "comments\tdownstream of items",
        "items\tcode_version",
        "stories\tdownstream of items",
        "stories\tremoved",
    ]
    assert json.loads(to_json(base))["items"]["code_version"] == items.code_versions_by_key[items.key]


def test_the_plan_runs_unpartitioned_assets_together_and_partitioned_ones_on_recent_hours() -> None:
    now = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)
    changed = {"item_history": ["partitions"], "items": ["code_version"], "comments": ["downstream of items"]}

    launches = plan(defs(), changed, now=now)
    one_hour = plan(defs(), {"item_history": ["new"]}, recent_partitions=1, now=now)

    assert [launch.dg_launch_arguments() for launch in launches] == [
        ["--assets", "comments,items"],
        ["--assets", "item_history", "--partition-range", "2026-12-06-17:00...2026-12-06-19:00"],
    ]
    assert one_hour == [Launch(("item_history",), ("2026-12-06-19:00",))]
    assert one_hour[0].dg_launch_arguments() == ["--assets", "item_history", "--partition", "2026-12-06-19:00"]
    assert launches[1].to_dict() == {
        "assets": ["item_history"],
        "partition_range": ["2026-12-06-17:00", "2026-12-06-19:00"],
        "partition_keys": ["2026-12-06-17:00", "2026-12-06-18:00", "2026-12-06-19:00"],
    }
    assert plan(defs(), {}, now=now) == []
    with pytest.raises(ValueError, match="run at least 1 partition"):
        plan(defs(), changed, recent_partitions=0, now=now)


def test_partitions_of_an_asset_without_a_single_run_policy_run_one_by_one() -> None:
    """Dagster refuses a range run of an asset that does not backfill in a single run."""
    daily = dg.DailyPartitionsDefinition(start_date="2026-01-01")

    @dg.asset(partitions_def=daily)
    def per_day() -> None: ...

    @dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
    def all_at_once() -> None: ...

    now = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)
    one_by_one = plan(dg.Definitions(assets=[per_day]), {"per_day": ["new"]}, recent_partitions=2, now=now)
    together = plan(dg.Definitions(assets=[all_at_once]), {"all_at_once": ["new"]}, recent_partitions=2, now=now)
    mixed = plan(dg.Definitions(assets=[per_day, all_at_once]), {"per_day": ["new"], "all_at_once": ["new"]},
                 recent_partitions=2, now=now)  # fmt: skip

    assert one_by_one == [Launch(("per_day",), ("2026-12-04",)), Launch(("per_day",), ("2026-12-05",))]
    assert together == [Launch(("all_at_once",), ("2026-12-04", "2026-12-05"))]
    assert mixed == [Launch(("all_at_once", "per_day"), (day,)) for day in ("2026-12-04", "2026-12-05")]


def test_the_plan_command_compares_a_base_with_this_checkout(base, tmp_path, capsys) -> None:
    base_with_a_removed_asset = {**edited(base, "stories", code_version="old"), "top_stories": base["stories"]}
    (tmp_path / "base.json").write_text(to_json(base_with_a_removed_asset))

    main(["plan", str(tmp_path / "base.json")])

    assert json.loads(capsys.readouterr().out) == {
        "runs": [{"assets": ["stories"], "partition_range": None, "partition_keys": []}],
        "changed": {"stories": ["code_version"]},
        "removed": ["top_stories"],
    }

"""Which assets a change touches: what differs between two versions of the definitions, and everything downstream.

An asset is changed when, between production's definitions (the base) and a pull request's (the head), its
``code_version`` (read from its source and the project code it calls), its dependencies, its partitions, its config
schema or its column schema differ, or when it is new. Everything downstream of a changed asset is run with it, since
it reads what the changed one writes. Each definition is reduced to a ``Fingerprint`` that serialises to JSON, so
CI can compare two commits without importing both at once:

    uv run python -m hn_assets.changes fingerprint > head.json       # on each commit
    uv run python -m hn_assets.changes compare base.json head.json   # the assets to run, one per line
    uv run python -m hn_assets.changes plan base.json                # on the head: the runs to launch, as JSON

A changed partitioned asset runs on its last few complete partitions (``--recent-partitions``, default 3), not on
its whole history: enough to see what the change does, at the cost of a few runs.

(Dagster+ change tracking marks the same kinds of change in the UI, but runs nothing; ``dg list defs --json`` does not
carry code versions, partitions or schemas, so it cannot tell.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.backfill_policy import BackfillPolicyType
from dagster._core.definitions.partitions.context import partition_loading_context

#: What of an asset's definition counts, in the order reasons are given.
FIELDS = ("code_version", "dependencies", "partitions", "config_schema", "column_schema")


@dataclass(frozen=True)
class Fingerprint:
    """What of one asset's definition can change what it writes."""

    code_version: str | None
    dependencies: tuple[str, ...]
    partitions: str | None
    config_schema: str | None
    column_schema: tuple[tuple[str, str], ...]


def fingerprints(definitions: dg.Definitions) -> dict[str, Fingerprint]:
    """The fingerprint of every asset of ``definitions``, by asset key."""
    graph = definitions.resolve_asset_graph()
    result = {}
    for node in graph.asset_nodes:
        assets_def = graph.assets_def_for_key(node.key)
        config = assets_def.op.config_schema if assets_def.is_executable else None
        schema = node.metadata.get("dagster/column_schema")
        schema = getattr(schema, "schema", schema)  # a TableSchemaMetadataValue, or the TableSchema itself
        result[node.key.to_user_string()] = Fingerprint(
            code_version=node.code_version,
            dependencies=tuple(sorted(key.to_user_string() for key in node.parent_keys)),
            partitions=str(node.partitions_def) if node.partitions_def else None,
            config_schema=config.config_type.key if config else None,
            column_schema=tuple((column.name, column.type) for column in schema.columns) if schema else (),
        )
    return result


def downstream_of(head: Mapping[str, Fingerprint]) -> dict[str, set[str]]:
    """Each asset's children in ``head``: the assets that read it."""
    children: dict[str, set[str]] = {key: set() for key in head}
    for key, fingerprint in head.items():
        for parent in fingerprint.dependencies:
            children.setdefault(parent, set()).add(key)
    return children


def changed_assets(base: Mapping[str, Fingerprint], head: Mapping[str, Fingerprint]) -> dict[str, list[str]]:
    """The assets of ``head`` to run, each with why: what of it changed, or which changed asset it is downstream of.

    Assets only in ``base`` (removed by the change) are not run: there is nothing to run; the diff reports them.
    """
    reasons: dict[str, list[str]] = {}
    for key, fingerprint in head.items():
        before = base.get(key)
        if before is None:
            reasons[key] = ["new"]
            continue
        changed = [name for name in FIELDS if getattr(before, name) != getattr(fingerprint, name)]
        if changed:
            reasons[key] = changed
    children = downstream_of(head)
    pending = list(reasons)
    while pending:
        key = pending.pop()
        for child in sorted(children.get(key, ())):
            if child not in reasons:
                reasons[child] = [f"downstream of {key}"]
                pending.append(child)
    return dict(sorted(reasons.items()))


def removed_assets(base: Mapping[str, Fingerprint], head: Mapping[str, Fingerprint]) -> list[str]:
    """The assets of ``base`` the change removes: nothing runs them; their tables stay until dropped by hand."""
    return sorted(set(base) - set(head))


#: Recent partitions a changed partitioned asset runs in a branch, unless told otherwise: not its whole history.
DEFAULT_RECENT_PARTITIONS = 3


@dataclass(frozen=True)
class Launch:
    """One run to launch in the branch: assets of one partitioning, and for partitioned ones the partitions to run
    (a range run in one run, which needs a single-run backfill policy; or one partition)."""

    assets: tuple[str, ...]
    partition_keys: tuple[str, ...] = ()

    @property
    def partition_range(self) -> tuple[str, str] | None:
        return (self.partition_keys[0], self.partition_keys[-1]) if self.partition_keys else None

    def to_dict(self) -> dict[str, Any]:
        """The run as CI's launcher reads it: the assets, the partition range ``[first, last]`` (or null) and every
        partition key in it (which the report asks production about)."""
        return {
            "assets": list(self.assets),
            "partition_range": list(self.partition_range) if self.partition_range else None,
            "partition_keys": list(self.partition_keys),
        }

    def dg_launch_arguments(self) -> list[str]:
        """The arguments of ``dg launch`` that run exactly this."""
        arguments = ["--assets", ",".join(self.assets)]
        if len(self.partition_keys) == 1:
            arguments += ["--partition", self.partition_keys[0]]
        elif self.partition_keys:
            arguments += ["--partition-range", "...".join(self.partition_range or ())]
        return arguments


def plan(
    definitions: dg.Definitions,
    changed: Mapping[str, list[str]],
    *,
    recent_partitions: int = DEFAULT_RECENT_PARTITIONS,
    now: datetime | None = None,
) -> list[Launch]:
    """The runs that materialize ``changed`` in a branch, in order: unpartitioned assets together, then each
    partitioning's assets over its last ``recent_partitions`` complete partitions (a change is tried on recent data,
    not on years).

    Assets of a partitioning with no complete partition yet are left out: there is nothing to run them on. A range
    is one run only where every asset of the run has a single-run backfill policy (Dagster refuses a range run
    otherwise); else each partition is a run of its own.
    """
    if recent_partitions < 1:
        raise ValueError(f"recent_partitions is {recent_partitions}; run at least 1 partition of a changed asset.")
    graph = definitions.resolve_asset_graph()
    groups: dict[Any, list[str]] = {}
    for key in changed:
        node = graph.get(dg.AssetKey.from_user_string(key))
        groups.setdefault(node.partitions_def, []).append(key)
    launches = []
    # Unpartitioned assets first: a partitioned asset downstream of one reads what that run writes.
    for partitions_def, keys in sorted(groups.items(), key=lambda group: group[0] is not None):
        if partitions_def is None:
            launches.append(Launch(tuple(sorted(keys))))
            continue
        recent = recent_partition_keys(partitions_def, recent_partitions, now)
        assets = tuple(sorted(keys))
        if all(_runs_a_range_at_once(graph, key) for key in keys):
            launches += [Launch(assets, tuple(recent))] if recent else []
        else:
            launches += [Launch(assets, (key,)) for key in recent]
    return launches


def _runs_a_range_at_once(graph: Any, key: str) -> bool:
    policy = graph.get(dg.AssetKey.from_user_string(key)).backfill_policy
    return policy is not None and policy.policy_type is BackfillPolicyType.SINGLE_RUN


def recent_partition_keys(partitions_def: dg.PartitionsDefinition, count: int, now: datetime | None) -> list[str]:
    """The last ``count`` complete partitions, oldest first. Time partitions walk back from the last one (listing
    every hour since 2006 takes seconds); others are listed."""
    with partition_loading_context(now):
        if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
            return list(partitions_def.get_partition_keys())[-count:]
        last = partitions_def.get_last_partition_key()  # as of the context's time
        if last is None:
            return []
        keys = [last]
        window: dg.TimeWindow | None = partitions_def.time_window_for_partition_key(last)
        while len(keys) < count and window is not None:
            window = partitions_def.get_prev_partition_window(window.start)
            if window is not None:
                keys.insert(0, partitions_def.get_partition_key_for_timestamp(window.start.timestamp()))
        return keys


def to_json(prints: Mapping[str, Fingerprint]) -> str:
    return json.dumps({key: asdict(value) for key, value in sorted(prints.items())}, indent=2)


def from_json(text: str) -> dict[str, Fingerprint]:
    loaded = json.loads(text)
    return {
        key: Fingerprint(
            code_version=value["code_version"],
            dependencies=tuple(value["dependencies"]),
            partitions=value["partitions"],
            config_schema=value["config_schema"],
            column_schema=tuple(tuple(column) for column in value["column_schema"]),
        )
        for key, value in loaded.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hn_assets.changes", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fingerprint", help="print the fingerprints of this checkout's hn_assets definitions")
    compare = commands.add_parser("compare", help="print the assets to run, one per line, with why")
    compare.add_argument("base", type=Path)
    compare.add_argument("head", type=Path)
    planned = commands.add_parser(
        "plan", help="print, as one JSON document, the runs to launch, the changed assets with why, the removed ones"
    )
    planned.add_argument("base", type=Path, help="the base commit's fingerprints; the head is this checkout")
    planned.add_argument("--recent-partitions", type=int, default=DEFAULT_RECENT_PARTITIONS)
    args = parser.parse_args(argv)
    if args.command in ("fingerprint", "plan"):
        from hn_assets.definitions import defs

        definitions = defs()
        if args.command == "fingerprint":
            print(to_json(fingerprints(definitions)))
            return
        base, head = from_json(args.base.read_text()), fingerprints(definitions)
        changed = changed_assets(base, head)
        launches = plan(definitions, changed, recent_partitions=args.recent_partitions)
        document = {
            "runs": [launch.to_dict() for launch in launches],
            "changed": changed,
            "removed": removed_assets(base, head),
        }
        print(json.dumps(document, indent=2))
        return
    base, head = from_json(args.base.read_text()), from_json(args.head.read_text())
    for key, why in changed_assets(base, head).items():
        sys.stdout.write(f"{key}\t{'; '.join(why)}\n")
    for key in removed_assets(base, head):
        sys.stdout.write(f"{key}\tremoved\n")


if __name__ == "__main__":
    main()

"""Which assets a change touches: what differs between two versions of the definitions, and everything downstream.

An asset is changed when, between production's definitions (the base) and a pull request's (the head), its
``code_version`` (read from its source and the project code it calls), its dependencies, its partitions, its config
schema or its column schema differ, or when it is new. Everything downstream of a changed asset is run with it, since
it reads what the changed one writes. Each definition is reduced to a ``Fingerprint`` that serialises to JSON, so
CI can compare two commits without importing both at once:

    uv run python -m hn_assets.changes fingerprint > head.json       # on each commit
    uv run python -m hn_assets.changes compare base.json head.json   # the assets to run, one per line

(Dagster+ change tracking marks the same kinds of change in the UI, but runs nothing; ``dg list defs --json`` does not
carry code versions, partitions or schemas, so it cannot tell.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

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
    args = parser.parse_args(argv)
    if args.command == "fingerprint":
        from hn_assets.definitions import defs

        print(to_json(fingerprints(defs())))
        return
    changed = changed_assets(from_json(args.base.read_text()), from_json(args.head.read_text()))
    for key, why in changed.items():
        sys.stdout.write(f"{key}\t{'; '.join(why)}\n")


if __name__ == "__main__":
    main()

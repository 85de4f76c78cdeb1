"""Checks that say how each table differs from the production data the clone started from.

A pull request's clone keeps production's tables as of the clone in ``HACKER_NEWS_BASE``, beside the tables the
branch writes (``HACKER_NEWS``). After each asset the branch materializes, its ``<asset>_differs_from_base`` check
compares the two in the warehouse (``hn_assets.table_diff``: schema, row counts, rows added, removed and changed by
``id``, per-column change share, samples; for ``item_history`` only the hours the run wrote, per hour) and records
the result as metadata: numbers a chart can plot, and the whole diff in Markdown, which the pull request's report
is made of. A diff informs: the check passes whatever it finds (a pull request exists to change data); only a
failed run fails the pull request.

The checks exist where there is a base: in branch deployments, and on a laptop whose warehouse file is a local clone
(``PRODUCTION_CLONE_<PR>.duckdb``, made by ``clone_prod`` locally). A clone made before bases existed has none, and
the check says so.
"""

from collections.abc import Sequence
from pathlib import PurePath

import dagster as dg

from hn_assets.assets import comments, items, stories
from hn_assets.history import HOURLY, item_history, sql_hour
from hn_assets.history_frame import HISTORY_HOUR_COLUMN
from hn_assets.metadata import without_empty
from hn_assets.table_diff import diff_tables
from hn_core.deployment.environment import Environment, Store, Target
from hn_core.deployment.names import BASE_SCHEMA, clone_pull_request_id
from hn_core.warehouse.clone_record import read_clone_record
from hn_core.warehouse.query import WarehouseQuery

KEY = "id"


def has_base(target: Target) -> bool:
    """Whether ``target`` writes a clone, whose base schema its changed tables are compared with."""
    if target.environment is Environment.BRANCH:
        return True
    return (
        target.environment is Environment.LOCAL
        and target.store is Store.DUCKDB
        and clone_pull_request_id(PurePath(str(target.duckdb_path)).stem) is not None
    )


def diff_result(warehouse_query: WarehouseQuery, table: str, **options: object) -> dg.AssetCheckResult:
    """The diff of ``table`` against its base as a passing check's metadata, or why there is none."""
    q = warehouse_query
    if not _base_exists(q):
        problem = (
            f"The clone has no base schema {BASE_SCHEMA}: it was made before clones kept one. Make the clone again "
            "(clone_prod) to compare with production."
        )
        return dg.AssetCheckResult(passed=True, metadata={"problem": problem})
    diff = diff_tables(q, table, base_schema=BASE_SCHEMA, head_schema=q.schema_name, key=KEY, **options)
    return dg.AssetCheckResult(
        passed=True,
        metadata=without_empty(
            {
                **diff.metadata(),
                **_clone_metadata(q),
                "diff": dg.MetadataValue.md(diff.markdown()),
                "notes": " ".join(diff.notes),
            }
        ),
    )


def _clone_metadata(q: WarehouseQuery) -> dict[str, object]:
    """Which pull request and commit the clone was made for, and when: the report compares them with the push and
    with production's latest materializations."""
    record = read_clone_record(q)
    if record is None:
        return {"clone_problem": "The clone has no record of when it was made; clone again."}
    return {
        "clone_pull_request": record.pull_request_id,
        "clone_commit": record.commit,
        "cloned_at": dg.MetadataValue.timestamp(record.cloned_at),
    }


def _base_exists(q: WarehouseQuery) -> bool:
    return bool(q.rows(f"SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{BASE_SCHEMA}'")[0][0])


def table_diff_check(asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """``<asset>_differs_from_base`` on an unpartitioned table: the whole table against its base."""
    name = asset.key.to_user_string()

    @dg.asset_check(
        asset=asset,
        name=f"{name}_differs_from_base",
        description=f"How `{name}` differs from the production data this clone started from ({BASE_SCHEMA}).",
    )
    def check(warehouse_query: dg.ResourceParam[WarehouseQuery]) -> dg.AssetCheckResult:
        return diff_result(warehouse_query, name)

    return check


@dg.asset_check(
    asset=item_history,
    partitions_def=HOURLY,
    description=f"How the hours of `item_history` a run wrote differ from the same hours in {BASE_SCHEMA}, per hour.",
)
def item_history_differs_from_base(
    context: dg.AssetCheckExecutionContext, warehouse_query: dg.ResourceParam[WarehouseQuery]
) -> dg.AssetCheckResult:
    window = context.op_execution_context.partition_time_window
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    hour = warehouse_query.column(HISTORY_HOUR_COLUMN)
    return diff_result(
        warehouse_query,
        item_history.key.to_user_string(),
        partition_column=HISTORY_HOUR_COLUMN,
        where=f"{hour} >= {sql_hour(start)} AND {hour} < {sql_hour(end)}",
    )


DIFF_CHECKS: Sequence[dg.AssetChecksDefinition] = [
    *(table_diff_check(asset) for asset in (items, comments, stories)),
    item_history_differs_from_base,
]

"""Asset checks that guard the tables: unique ids and known types in ``items``, and a split that adds up.

The ``items`` checks block: a duplicated id or an unknown type stops ``comments`` and ``stories`` from being built
on bad data.
"""

import dagster as dg
import pandas as pd

from hn_assets.assets import comments, items, stories
from hn_assets.metadata import counted_ids, id_list, without_empty
from hn_core.hn_api import ITEM_TYPES


@dg.asset_check(asset=items, blocking=True, description="Every item id appears once.")
def items_have_unique_ids(items: pd.DataFrame) -> dg.AssetCheckResult:
    duplicated = sorted(items.loc[items["id"].duplicated(), "id"].unique().tolist())
    return dg.AssetCheckResult(
        passed=not duplicated,
        metadata=counted_ids("duplicated", duplicated),
    )


@dg.asset_check(asset=items, blocking=True, description="Every item type is one the HN API documents.")
def items_have_known_types(items: pd.DataFrame) -> dg.AssetCheckResult:
    unknown = items.loc[~items["type"].isin(ITEM_TYPES), "type"]
    return dg.AssetCheckResult(
        passed=unknown.empty,
        metadata=without_empty(
            {
                "unknown_count": len(unknown),
                "unknown_types": ", ".join(sorted(map(str, unknown.unique()))),
                "type_counts": {str(k): int(v) for k, v in items["type"].value_counts(dropna=False).items()},
            }
        ),
    )


def split_matches_items(split: pd.DataFrame, items: pd.DataFrame, item_type: str) -> dg.AssetCheckResult:
    """``split`` holds exactly the ``item_type`` rows of ``items``: no more, no fewer, no strangers."""
    expected = int((items["type"] == item_type).sum())
    strangers = sorted(set(split["id"]) - set(items["id"]))
    other_types = int((split["type"] != item_type).sum())
    return dg.AssetCheckResult(
        passed=len(split) == expected and not strangers and other_types == 0,
        metadata=without_empty(
            {
                "rows": len(split),
                "expected_rows": expected,
                "ids_not_in_items": id_list(strangers),
                "rows_of_other_types": other_types,
            }
        ),
    )


@dg.asset_check(
    asset=comments,
    additional_ins={"items": dg.AssetIn("items")},
    description="comments holds exactly the items of type comment, and no id that is not in items.",
)
def comments_match_items(comments: pd.DataFrame, items: pd.DataFrame) -> dg.AssetCheckResult:
    return split_matches_items(comments, items, "comment")


@dg.asset_check(
    asset=stories,
    additional_ins={"items": dg.AssetIn("items")},
    description="stories holds exactly the items of type story, and no id that is not in items.",
)
def stories_match_items(stories: pd.DataFrame, items: pd.DataFrame) -> dg.AssetCheckResult:
    return split_matches_items(stories, items, "story")


ALL_CHECKS = [items_have_unique_ids, items_have_known_types, comments_match_items, stories_match_items]

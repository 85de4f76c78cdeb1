"""Code location ``hn_assets``: Hacker News items, comments and stories."""

import warnings

import dagster as dg

# The hourly history relies on two features Dagster marks as not yet stable: a single-run backfill policy (a range
# of hours in one run) and partitioned asset checks (one evaluation per hour). Both are chosen on purpose and pinned
# by the tests; their warnings would otherwise open every command a newcomer runs, in every process that loads this
# location. Any other Beta or Preview warning still shows.
warnings.filterwarnings("ignore", r"Parameter `backfill_policy` of function `asset`", dg.BetaWarning)
warnings.filterwarnings("ignore", r"Specifying a partitions_def on an AssetCheckSpec", dg.PreviewWarning)

from hn_assets.assets import ItemsConfig, comments, items, stories  # noqa: E402 (after the filters it needs)

__all__ = ["ItemsConfig", "comments", "items", "stories"]

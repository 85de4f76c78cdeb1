"""The Hacker News assets: ``items`` fetched from the API, split into ``comments`` and ``stories``.

Assets hold only the orchestration: fetching is ``HNClient``'s job and shaping is ``hn_core.transforms``'s, so each
asset body can be called as a plain function in tests with ``StubHNClient``. Storage goes through the
``warehouse_io_manager`` resource, which the environment decides (DuckDB locally, Snowflake elsewhere).
"""

import time
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from hn_assets.code_version import source_version
from hn_assets.metadata import (
    ITEMS_SCHEMA,
    counted_ids,
    frame_metadata,
    id_list,
    id_range,
    rows_metadata,
    source_metadata,
)
from hn_core.hn_api import HNClient, most_recent_ids
from hn_core.hn_api.client import FetchResult
from hn_core.transforms import comments_frame, items_frame, stories_frame

GROUP = "hacker_news"
#: One run at a time writes these tables: the repository's dagster.yaml gives every pool one slot, held for the
#: whole run (pool granularity "run"), so two runs never interleave their writes of ITEMS, COMMENTS and STORIES.
TABLES_POOL = "hacker_news_tables"
COMMON = {
    "group_name": GROUP,
    "io_manager_key": "warehouse_io_manager",
    "kinds": {"pandas"},
    "owners": ["team:data-platform"],
    "tags": {"domain": "hacker_news", "source": "hn_api"},
    "pool": TABLES_POOL,
    "metadata": {"dagster/column_schema": ITEMS_SCHEMA},
}
#: The columns each preview shows: what tells one row from another at a glance.
ITEMS_PREVIEW = ("id", "time", "type", "user_id", "title", "text")
COMMENTS_PREVIEW = ("id", "time", "user_id", "parent", "text")
STORIES_PREVIEW = ("id", "time", "user_id", "score", "descendants", "title", "url")
PROGRESS_EVERY = 500
#: ``null`` answers a fetch may always have: HN has stretches of ids that were never created, and in a small fetch (a
#: quiet hour) a few of them are a large share. Past this count, ``max_missing_share`` applies.
DEFAULT_MISSING_GRACE_COUNT = 50
#: ``null`` answers in a stretch of this many consecutive ids, up to ``NEVER_CREATED_MAX``, are ids HN never created
#: (the live API has such stretches, and serves them as ``null`` for good), not a failing API: the share rule leaves
#: them out. A longer stretch is not exempt: an API that stops answering mid-fetch looks like one.
NEVER_CREATED_MIN = 10
NEVER_CREATED_MAX = 2_000


class ItemsConfig(dg.Config):
    """How much to fetch. ``base_item_id`` is N, the count of most recent items (the Dagster guide's name)."""

    base_item_id: int = Field(default=1_000, gt=0, description="N: fetch the N most recent items.")
    max_failed_items: int = Field(
        default=0,
        ge=0,
        description=(
            "Items that may fail (after retries, or with an invalid answer) before the run fails without writing; "
            "their ids are recorded."
        ),
    )
    max_missing_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description=(
            "Share of ids the API may answer with null before the run fails without writing, once more than "
            "`missing_grace_count` are null."
        ),
    )
    missing_grace_count: int = Field(
        default=DEFAULT_MISSING_GRACE_COUNT,
        ge=0,
        description="Null answers always allowed, whatever their share: ids that were never created are null forever.",
    )


def versioned_asset(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``@dg.asset`` whose ``code_version`` is read from the function's source and the project code it calls
    (``hn_assets.code_version``): edit a transform, and every asset that calls it has a new version."""

    def decorate(function: Callable[..., Any]) -> dg.AssetsDefinition:
        return dg.asset(code_version=source_version(function), **kwargs)(function)

    return decorate


class ProgressLog:
    """Logs fetch progress every ``every`` items with the rate so far, so a long fetch is visibly alive."""

    def __init__(self, log: Any, every: int = PROGRESS_EVERY) -> None:
        self._log, self._every, self._started = log, every, time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if done % self._every == 0 or done == total:
            rate = done / max(time.perf_counter() - self._started, 1e-9)
            self._log.info(f"Fetched {done:,}/{total:,} items ({rate:,.0f} items/s)")


@versioned_asset(
    description=(
        "The N most recent Hacker News items (stories, comments, jobs, polls and poll options), one row per live "
        "item, fetched from the HN API. Each answer is checked against the API's item model. Deleted items, `null` "
        "answers and failed ids have no row; the metadata counts and lists them by id. A fetch with more failures "
        "than `max_failed_items`, more `null` answers than `max_missing_share`, or no live item at all fails "
        "before anything is written. Set N with `base_item_id`."
    ),
    **COMMON,
)
def items(
    context: dg.AssetExecutionContext, config: ItemsConfig, hn_client: dg.ResourceParam[HNClient]
) -> pd.DataFrame:
    max_item_id = hn_client.fetch_max_item_id()
    ids = most_recent_ids(max_item_id, config.base_item_id)
    context.log.info(f"Fetching items {ids.start:,}..{ids.stop - 1:,} ({len(ids):,} items)")
    result = hn_client.fetch_items(ids, progress=ProgressLog(context.log))
    frame = items_frame(result.rows)
    source = source_metadata(hn_client)
    refuse_bad_fetch(result, frame, config, source)
    context.add_output_metadata(
        {
            **source,
            "dagster/row_count": len(frame),
            **id_range(ids.start, ids.stop - 1),
            "id_count": len(ids),
            **rows_metadata(frame, ITEMS_PREVIEW),
            **fetch_metadata(result),
        }
    )
    return frame


def refuse_bad_fetch(result: FetchResult, frame: pd.DataFrame, config: ItemsConfig, source: Mapping[str, Any]) -> None:
    """Fail the run before anything is written when the fetch cannot be trusted to replace the last good table.

    Too many failed ids, too many ``null`` answers, or no item at all: each raises ``dg.Failure`` naming the
    counts and the ids, with the fetch's metadata (and ``source``, where it was fetched from) attached to the failure.
    """
    problems = fetch_problems(result, config.max_failed_items, config.max_missing_share, config.missing_grace_count)
    if frame.empty:
        problems.append(f"none of the {result.requested} items requested is a live item")
    if problems:
        raise dg.Failure(
            description="Nothing was written, the tables keep their last good rows: " + "; ".join(problems),
            metadata={**source, **fetch_metadata(result)},
        )


@versioned_asset(description="The `items` of type `comment`, with the same columns.", **COMMON)
def comments(context: dg.AssetExecutionContext, items: pd.DataFrame) -> pd.DataFrame:
    frame = comments_frame(items)
    context.add_output_metadata(frame_metadata(frame, COMMENTS_PREVIEW))
    return frame


@versioned_asset(
    description="The `items` of type `story` (jobs and polls are not stories), with the same columns.", **COMMON
)
def stories(context: dg.AssetExecutionContext, items: pd.DataFrame) -> pd.DataFrame:
    frame = stories_frame(items)
    context.add_output_metadata(frame_metadata(frame, STORIES_PREVIEW))
    return frame


def fetch_problems(
    result: FetchResult, max_failed_items: int, max_missing_share: float, missing_grace_count: int
) -> list[str]:
    """What makes a fetch untrustworthy: more failed ids, or ``null`` answers, than allowed, each named by id.

    ``null`` answers are too many when there are more than ``missing_grace_count`` of them and they are more than
    ``max_missing_share`` of the ids requested: a broken API answers ``null`` everywhere, a quiet stretch of HN only
    for a few ids. Stretches of never-created ids (``scattered_missing_ids``) are not counted: the API serves them
    as ``null`` for good, and refusing them would refuse their hour forever.
    """
    problems = []
    if len(result.failed) > max_failed_items:
        problems.append(
            f"{len(result.failed)} of {result.requested} items failed (max_failed_items is "
            f"{max_failed_items}): {id_list(result.failed)}. First error: {next(iter(result.failed.values()))}"
        )
    live = any(not item.deleted for item in result.rows)
    scattered = scattered_missing_ids(result.missing_ids) if live else result.missing_ids  # no item: a broken API
    missing = len(scattered)
    if missing > missing_grace_count and missing > max_missing_share * result.requested:
        in_stretches = len(result.missing_ids) - missing
        problems.append(
            f"{missing} of {result.requested} items were null (max_missing_share is {max_missing_share:g} past "
            f"missing_grace_count {missing_grace_count}"
            + (f"; {in_stretches} more in stretches of never-created ids" if in_stretches else "")
            + f"): {id_list(scattered)}"
        )
    return problems


def scattered_missing_ids(missing_ids: list[int]) -> list[int]:
    """The ``null`` ids outside stretches of ``NEVER_CREATED_MIN``..``NEVER_CREATED_MAX`` consecutive ids."""
    scattered: list[int] = []
    stretch: list[int] = []
    for item_id in [*sorted(missing_ids), None]:
        if stretch and (item_id is None or item_id != stretch[-1] + 1):
            if not NEVER_CREATED_MIN <= len(stretch) <= NEVER_CREATED_MAX:
                scattered += stretch
            stretch = []
        if item_id is not None:
            stretch.append(item_id)
    return scattered


def fetch_metadata(result: FetchResult) -> dict[str, Any]:
    """What the fetch saw beyond the rows: deleted items, ``null`` answers (``missing``), failures and duplicate
    answers, each counted, and listed by id where there are any."""
    return {
        **counted_ids("deleted", result.deleted_ids),
        **counted_ids("missing", result.missing_ids),
        **counted_ids("failed", result.failed),
        **counted_ids("duplicate_answer", result.duplicate_answer_ids),
    }

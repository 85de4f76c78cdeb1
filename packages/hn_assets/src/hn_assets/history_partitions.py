"""The hours of the item history: one partition per UTC hour, from a first hour that is useful to look at.

Hacker News's first item is from 2006-10-09 18:21 UTC, so the history *can* start then: 176,000 hourly partitions and
counting. A deployment that stores only recent hours would then show a partitions view of one-pixel slivers, a
"filled" share of 0%, and a "backfill all" that means two decades of fetching. So the partitions start at
``HN_HISTORY_START`` (an hour, ``YYYY-MM-DD-HH:00``, or a day, ``YYYY-MM-DD``, in UTC), by default
``DEFAULT_HISTORY_START``, a few days before this platform's first deploy. ``HN_HISTORY_START=2006-10-09-18:00``
restores the full history.

The setting is read when the code location loads, as every partitions definition is fixed then; an invalid value
stops the load with a message naming the variable. Moving the start later hides stored hours from the UI (they stay
in ``ITEM_HISTORY``); moving it earlier adds hours to backfill.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

HISTORY_START_VARIABLE = "HN_HISTORY_START"
#: The hour of the first HN item (id 1, 2006-10-09 18:21:51 UTC): no history starts before it.
FIRST_ITEM_HOUR = "2006-10-09-18:00"
#: A few days before the first deploy: set HN_HISTORY_START to your own.
DEFAULT_HISTORY_START = "2026-11-30-00:00"
HOUR_FORMAT = "%Y-%m-%d-%H:%M"


class InvalidHistoryStartError(ValueError):
    """HN_HISTORY_START is not an hour (or a day) between the first HN item and now."""


def history_start(environ: Mapping[str, str]) -> str:
    """The first hour of the history, as a partition key: ``HN_HISTORY_START`` (checked) or the default."""
    raw = environ.get(HISTORY_START_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_HISTORY_START
    for text, pattern in ((raw, HOUR_FORMAT), (f"{raw}-00:00", HOUR_FORMAT)):
        try:
            hour = datetime.strptime(text, pattern).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    else:
        raise InvalidHistoryStartError(
            f"{HISTORY_START_VARIABLE}={raw!r} is not an hour: use YYYY-MM-DD-HH:00 (or YYYY-MM-DD for midnight), "
            f"in UTC, e.g. {DEFAULT_HISTORY_START}"
        )
    first = datetime.strptime(FIRST_ITEM_HOUR, HOUR_FORMAT).replace(tzinfo=UTC)
    if hour.minute or not first <= hour <= datetime.now(UTC):
        raise InvalidHistoryStartError(
            f"{HISTORY_START_VARIABLE}={raw!r} must be a whole hour from {FIRST_ITEM_HOUR} (the first HN item) to "
            "now, in UTC"
        )
    return hour.strftime(HOUR_FORMAT)


#: The history's partitions: one per UTC hour from the first hour above.
HOURLY = dg.HourlyPartitionsDefinition(start_date=history_start(os.environ), timezone="UTC")

"""The baseline fetcher: the Dagster guide's ``items`` loop, one ``requests.get`` per item, one after another.

This is the guide's code as published, with the base URL a parameter so that it can point at the offline server:
no session, a new connection per item, ``timeout=5``. (The guide then builds ``pd.DataFrame(rows, ...)``, which
raises ``TypeError`` on the ``null`` items the API serves for deleted ids; the benchmark builds its frame with
``hn_core.items_frame`` instead, for both fetchers.)
"""

from __future__ import annotations

from typing import Any

import requests


def guide_fetch(base_url: str, count: int) -> list[Any]:
    """The ``count`` most recent items, exactly as the guide fetches them (``null`` items included)."""
    rows = []
    max_id = requests.get(f"{base_url}/v0/maxitem.json", timeout=5).json()
    # Hacker News API is 1-indexed, so adjust range by 1
    for item_id in range(max_id - count + 1, max_id + 1):
        item_url = f"{base_url}/v0/item/{item_id}.json"
        rows.append(requests.get(item_url, timeout=5).json())
    return rows

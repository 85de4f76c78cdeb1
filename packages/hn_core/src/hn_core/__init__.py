"""Shared core of the platform: the HN item model, pure transforms, HN clients and the environment model.

The names below are imported on first use (PEP 562), not with the package: a module that needs only
``hn_core.names`` or ``hn_core.environment`` (all of ``db_ops``) must not pay for pandas and aiohttp.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "PUBLIC_HN_API_BASE_URL": "hn_core.api_client",
    "HNAPIClient": "hn_core.api_client",
    "FetchResult": "hn_core.client",
    "HNClient": "hn_core.client",
    "HNFetchError": "hn_core.client",
    "StubHNClient": "hn_core.client",
    "most_recent_ids": "hn_core.client",
    "validate_answer": "hn_core.client",
    "ITEM_FIELD_NAMES": "hn_core.model",
    "ITEM_TYPES": "hn_core.model",
    "ITEMS_COLUMNS": "hn_core.model",
    "ITEMS_DTYPES": "hn_core.model",
    "HNItem": "hn_core.model",
    "comments_frame": "hn_core.transforms",
    "items_frame": "hn_core.transforms",
    "stories_frame": "hn_core.transforms",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'hn_core' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)

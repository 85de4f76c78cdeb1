"""Shared core of the platform: the HN item model, pure transforms, HN clients and the environment model."""

from hn_core.api_client import PUBLIC_HN_API_BASE_URL, HNAPIClient
from hn_core.client import FetchResult, HNClient, HNFetchError, StubHNClient, most_recent_ids, validate_answer
from hn_core.model import ITEM_FIELD_NAMES, ITEM_TYPES, ITEMS_COLUMNS, ITEMS_DTYPES, HNItem
from hn_core.transforms import comments_frame, items_frame, stories_frame

__all__ = [
    "ITEMS_COLUMNS",
    "ITEMS_DTYPES",
    "ITEM_FIELD_NAMES",
    "ITEM_TYPES",
    "PUBLIC_HN_API_BASE_URL",
    "FetchResult",
    "HNAPIClient",
    "HNClient",
    "HNFetchError",
    "HNItem",
    "StubHNClient",
    "comments_frame",
    "items_frame",
    "most_recent_ids",
    "stories_frame",
    "validate_answer",
]

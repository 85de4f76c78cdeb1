"""The Hacker News API, as the assets see it.

- ``HNItem``, ``ITEM_FIELD_NAMES``, ``ITEM_TYPES``, ``ITEMS_COLUMNS``, ``ITEMS_DTYPES``: the item model (``model``)
- ``HNClient``, ``FetchResult``, ``HNFetchError``, ``most_recent_ids``, ``validate_answer``: the client interface
  (``client``)
- ``StubHNClient``: the in-memory client of unit tests (``client``)
- ``HNAPIClient``, ``PUBLIC_HN_API_BASE_URL``: the client over HTTP, concurrent and pooled (``http_client``, on
  ``http_fetch``)
"""

from hn_core._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "model": ("HNItem", "ITEM_FIELD_NAMES", "ITEM_TYPES", "ITEMS_COLUMNS", "ITEMS_DTYPES"),
        "client": ("HNClient", "FetchResult", "HNFetchError", "most_recent_ids", "validate_answer", "StubHNClient"),
        "http_client": ("HNAPIClient", "PUBLIC_HN_API_BASE_URL"),
    },
)

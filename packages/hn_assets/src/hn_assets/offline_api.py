"""The offline HN API for the quick start and the branch demo, from the dev-only package ``hn_offline_api``.

Imported when those commands run, never with the code location: the production images do not install
``hn-offline-api`` (it is the extra ``offline`` of ``hn-assets``, which the workspace installs and the images do
not), so that no HTTP server or test data ships to production.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serve_generated_items(size: int, *, irregular: bool = False, port: int = 0) -> Iterator[str]:
    """Serve ``size`` generated items (``irregular``: the mix with nulls, deleted and dead items) on 127.0.0.1, on
    ``port`` (0: a free one; a port in use raises ``OSError``).

    Yields the base URL. Without ``hn_offline_api`` installed, exits naming the command that installs it.
    """
    try:
        from hn_offline_api.fixtures import IRREGULAR_MIX, generate_items
        from hn_offline_api.server import OfflineHNAPI, serve_in_thread
    except ImportError as missing:
        raise SystemExit(
            "the offline HN API is not installed: it is a development tool, installed by `uv sync` in the "
            "workspace (or `pip install 'hn-assets[offline]'`)"
        ) from missing
    api = OfflineHNAPI(generate_items(size, mix=IRREGULAR_MIX if irregular else None))
    with serve_in_thread(api, port=port) as url:
        yield url

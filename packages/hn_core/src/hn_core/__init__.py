"""Shared core of the platform, used by both code locations (no Dagster definitions of its own).

- ``hn_core.hn_api``: the HN item model, the client interface, the HTTP client and its in-memory stand-in
- ``hn_core.warehouse``: the atomic, strictly typed warehouse I/O managers, column types, ledgers, read-only queries
- ``hn_core.deployment``: the environment resolver, database names and the one resource factory
- ``hn_core.transforms``: pure transforms from validated items to the items, comments and stories frames

Each sub-package imports its names on first use: a module that needs only ``hn_core.deployment`` (all of ``db_ops``)
does not pay for pandas and aiohttp.
"""

"""The offline HN API: a local HTTP server in the HN API's shape, with latency and faults, and the items it serves.

Development only (the quick start, the tests and the benchmarks); the production images never install it.
``hn_offline_api.app`` answers each request (faults included), ``hn_offline_api.limits`` bounds what a client may
take, ``hn_offline_api.server`` serves over HTTP, ``hn_offline_api.cli`` is ``hn-api-server``, and
``hn_offline_api.fixtures`` generates the items.
"""

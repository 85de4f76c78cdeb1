"""Benchmarks of the platform: fetch throughput, definitions load time and end-to-end materialization.

Run ``uv run python -m benchmarks.fetch``; results land in ``benchmarks/results.json`` and
``benchmarks/fetch_throughput.png``, and BENCHMARKS.md discusses them. Not collected by pytest.
"""

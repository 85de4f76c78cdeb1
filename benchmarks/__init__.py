"""Benchmarks of the platform, one entry point: ``uv run python -m benchmarks NAME`` (``--help`` lists them).

Each writes its figures and the machine they ran on to ``benchmarks/results/NAME.json`` and prints them as the
Markdown tables of BENCHMARKS.md. Not collected by pytest.
"""

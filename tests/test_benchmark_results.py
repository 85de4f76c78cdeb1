"""Every committed benchmark result renders with today's benchmark code, so each table can be traced to its run.

The benchmarks themselves are not run here (minutes each, on a quiet machine); their JSON is what BENCHMARKS.md
quotes, and a result that today's ``report`` cannot read no longer matches the code that would reproduce it.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = sorted((ROOT / "benchmarks" / "results").glob("*.json"))


@pytest.fixture(scope="module", autouse=True)
def _benchmarks_importable() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def test_every_benchmark_has_a_committed_result() -> None:
    from benchmarks.__main__ import BENCHMARKS

    assert {json.loads(path.read_text())["benchmark"] for path in RESULTS} == set(BENCHMARKS)


@pytest.mark.parametrize("path", RESULTS, ids=[path.stem for path in RESULTS])
def test_a_committed_result_renders_with_todays_report(path: Path) -> None:
    from benchmarks.machine import summary

    record = json.loads(path.read_text())
    module = importlib.import_module(f"benchmarks.{record['benchmark'].replace('-', '_')}")

    table = module.report(record["results"])

    assert table.count("\n|") >= 2, table
    assert "GiB" in summary(record["machine"])

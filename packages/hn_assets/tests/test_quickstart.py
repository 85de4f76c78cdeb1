"""The offline quick start prints the row counts of the tables it materialized."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from hn_assets.quickstart import main


def test_quickstart_materializes_and_reports_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DAGSTER_DEPLOYMENT", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "HN_LOCAL_WAREHOUSE", "HN_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    database = tmp_path / "quick.duckdb"
    monkeypatch.setenv("HN_DUCKDB_PATH", str(database))

    main(["--items", "80", "--fixture-size", "300"])

    output = capsys.readouterr().out
    with duckdb.connect(str(database), read_only=True) as connection:
        for table in ("ITEMS", "COMMENTS", "STORIES"):
            count = connection.execute(f"SELECT count(*) FROM HACKER_NEWS.{table}").fetchone()[0]
            assert f"{table:<9} {count:>6} rows" in output
    assert 0 < count < 80
    assert "HN_API_BASE_URL" not in os.environ, "the offline server's URL must not outlive it"


def test_quickstart_refuses_to_run_outside_local_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_DEPLOYMENT", "production")

    with pytest.raises(SystemExit, match="only to the local DuckDB file"):
        main([])


def test_one_then_three_then_a_thousand_items_on_one_warehouse_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A first run of one item leaves all-null text columns: later runs must still fit their values."""
    for name in ("DAGSTER_DEPLOYMENT", "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "HN_LOCAL_WAREHOUSE", "HN_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    database = tmp_path / "quick.duckdb"
    monkeypatch.setenv("HN_DUCKDB_PATH", str(database))

    for count in (1, 3, 1000):
        main(["--items", str(count)])

        with duckdb.connect(str(database), read_only=True) as connection:
            lowest, highest, rows = connection.execute(
                "SELECT min(id), max(id), count(*) FROM HACKER_NEWS.ITEMS"
            ).fetchone()
        assert (highest, 0 < rows <= count, lowest >= 5001 - count) == (5000, True, True)

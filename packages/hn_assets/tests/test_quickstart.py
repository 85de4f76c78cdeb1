"""The offline quick start: tables and a summary that explains them, runs kept where `dg dev` finds them, flags
checked before anything starts, and a failed run told in one line."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._cli.utils import get_possibly_temporary_instance_for_cli
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

from hn_assets.quickstart import OFFLINE_PORT, ROOT_MARKERS, main, serve_offline_api

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def checkout(use_environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that looks like the repository root to the quick start (its dg.toml and dagster.yaml), as cwd.

    The local environment, with the warehouse file given relative to it, as `dg dev` would resolve it.
    """
    for marker in ROOT_MARKERS:
        shutil.copy(REPOSITORY_ROOT / marker, tmp_path / marker)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    use_environment("local", HN_DUCKDB_PATH="quick.duckdb")
    return tmp_path


def counts(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            t: connection.execute(f"SELECT count(*) FROM HACKER_NEWS.{t}").fetchone()[0]
            for t in ("ITEMS", "COMMENTS", "STORIES")
        }


def test_quickstart_explains_its_tables_and_keeps_its_run_in_the_project_instance(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The repository's dagster.yaml stores runs under .dagster_home, where `dg dev` (run from the root) reads them."""
    assert main(["--items", "80", "--fixture-size", "300"]) == 0

    printed = capsys.readouterr()
    rows = counts(checkout / "quick.duckdb")
    for table, count in rows.items():
        assert f"{table:<9} {count:>7,} rows" in printed.out
    assert 0 < rows["ITEMS"] < 80
    assert "ITEMS has no row for " in printed.out
    assert " ids failed." in printed.out
    assert "Fetched 80/80 items" in printed.err
    assert "DEBUG" not in printed.err, "INFO events only, unless --verbose"
    assert "HN_API_BASE_URL" not in os.environ, "the offline server's URL must not outlive it"
    assert "under the job refresh_hacker_news" in printed.out
    assert "HN_API_BASE_URL=http://127.0.0.1:8765 uv run dg dev --use-active-venv" in printed.out
    assert (checkout / ".dagster_home" / "storage").is_dir()
    os.chdir(checkout)
    with get_possibly_temporary_instance_for_cli("test", logger=logging.getLogger("test")) as instance:
        runs = instance.get_runs()
        assert [(run.job_name, run.status) for run in runs] == [("refresh_hacker_news", dg.DagsterRunStatus.SUCCESS)]
        # What the job's pages in the UI ask for: its runs in the location hn_assets, by the repository label tag
        # (dagster_graphql/schema/pipelines/pipeline.py, GraphenePipeline.resolve_runs).
        in_location = instance.get_runs(
            dg.RunsFilter(job_name="refresh_hacker_news", tags={REPOSITORY_LABEL_TAG: "__repository__@hn_assets"})
        )
        assert [run.run_id for run in in_location] == [runs[0].run_id]
        assert runs[0].remote_job_origin.location_name == "hn_assets"
        assert "resources" not in runs[0].run_config, "re-executed, the run reads the API dg dev is given"
        materialized = instance.fetch_materializations(dg.AssetKey("items"), limit=1).records[0]
        assert materialized.asset_materialization.metadata["dagster/row_count"].value == rows["ITEMS"]
        assert instance.event_log_storage.get_concurrency_info("hacker_news_tables").slot_count == 1


def test_verbose_prints_debug_events(checkout: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["--items", "20", "--fixture-size", "100", "--verbose"]) == 0

    assert " - DEBUG - " in capfd.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--items", "20000"], "argument --items: must be from 1 to --fixture-size (5,000), got 20,000"),
        (["--items", "0"], "argument --items: must be from 1 to --fixture-size (5,000), got 0"),
        (["--fixture-size", "0"], "argument --fixture-size: must be from 1 to 1,000,000, got 0"),
        (["--items", "many"], "argument --items: invalid int value: 'many'"),
    ],
)
def test_bad_flags_are_refused_in_one_line_before_anything_starts(
    argv: list[str], message: str, checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    assert exited.value.code == 2
    assert capsys.readouterr().err == f"hn-quickstart: error: {message}" + (
        "; raise --fixture-size to fetch more\n" if "--fixture-size (" in message else "\n"
    )
    assert not (checkout / "quick.duckdb").exists()
    assert not (checkout / ".dagster_home").exists()


def test_a_failed_run_exits_non_zero_with_one_line(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print(1, flush=True); time.sleep(60)",
            str(checkout / "quick.duckdb"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        holder.stdout.readline()
        code = main(["--items", "20", "--fixture-size", "100"])
    finally:
        holder.kill()
        holder.wait()

    assert code == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("hn-quickstart")]
    assert len(lines) == 1
    assert lines[0].startswith("hn-quickstart: the run failed, nothing more was written: step items: ")
    assert f"is locked by PID {holder.pid}" in lines[0]
    assert "Stop that process" in lines[0]


def test_one_then_three_then_a_thousand_items_on_one_warehouse_file(checkout: Path) -> None:
    """A first run of one item leaves all-null text columns: later runs must still fit their values."""
    for count in (1, 3, 1000):
        assert main(["--items", str(count)]) == 0

        with duckdb.connect(str(checkout / "quick.duckdb"), read_only=True) as connection:
            lowest, highest, rows = connection.execute(
                "SELECT min(id), max(id), count(*) FROM HACKER_NEWS.ITEMS"
            ).fetchone()
        assert (highest, 0 < rows <= count, lowest >= 5001 - count) == (5000, True, True)


def test_quickstart_refuses_to_run_outside_local_duckdb(use_environment) -> None:
    use_environment("production")

    with pytest.raises(SystemExit, match="writes only to the local DuckDB file"):
        main([])


def test_a_relative_warehouse_path_means_the_same_as_for_dg_dev(checkout: Path, use_environment) -> None:
    """Run from a subfolder, HN_DUCKDB_PATH is still relative to the repository root, where `dg dev` runs."""
    (checkout / "data").mkdir()
    use_environment("local", HN_DUCKDB_PATH="data/quick.duckdb")

    assert main(["--items", "10", "--fixture-size", "100"]) == 0

    assert counts(checkout / "data" / "quick.duckdb")["ITEMS"] > 0


def test_without_the_offline_api_the_quick_start_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The images leave hn-offline-api out: the location still loads, and the quick start names what is missing."""
    from hn_assets.offline_api import serve_generated_items

    monkeypatch.setitem(sys.modules, "hn_offline_api.server", None)  # what `import` finds when it is not installed

    with pytest.raises(SystemExit, match=r"offline HN API is not installed.*uv sync.*hn-assets\[offline\]"):
        serve_generated_items(10).__enter__()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_the_offline_api_takes_the_readmes_port_where_it_is_free_else_any() -> None:
    """On the README's port the quick start's run is the job `dg dev` runs with that HN_API_BASE_URL; where the
    port is taken, it still runs, on a free one."""
    readme_url = f"http://127.0.0.1:{OFFLINE_PORT}"
    with ExitStack() as stack:
        holder = stack.enter_context(socket.socket())
        holder.bind(("127.0.0.1", 0 if not port_is_free(OFFLINE_PORT) else OFFLINE_PORT))
        holder.listen()
        taken = serve_offline_api(stack, 10)
        assert taken != readme_url
        assert urllib.request.urlopen(f"{taken}/v0/maxitem.json", timeout=5).read() == b"10"
    with ExitStack() as stack:
        free = serve_offline_api(stack, 10)
        assert free == readme_url or not port_is_free(OFFLINE_PORT), "taken meanwhile by another process"

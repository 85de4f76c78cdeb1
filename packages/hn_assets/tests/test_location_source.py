"""Where a location reads: its refresh job's description names the environment and the HN API it fetches from, so the
UI tells a newcomer whether a run goes to the offline server or to the internet before it is launched."""

import pytest

from hn_assets.definitions import defs


@pytest.mark.parametrize(
    ("extra", "api"),
    [
        ({"HN_API_BASE_URL": "http://127.0.0.1:8765"}, "http://127.0.0.1:8765"),
        ({}, "https://hacker-news.firebaseio.com"),
    ],
)
def test_the_refresh_job_says_which_api_and_warehouse_it_uses(use_environment, extra, api) -> None:
    use_environment("local", **extra)

    description = defs().resolve_job_def("refresh_hacker_news").description

    assert f"reads the HN API at {api} (`HN_API_BASE_URL`)" in description
    assert "Here (local (duckdb: " in description

"""The history's first hour: HN_HISTORY_START, checked, or a recent default; the full history by setting."""

import subprocess
import sys

import pytest

from hn_assets.history_partitions import (
    DEFAULT_HISTORY_START,
    FIRST_ITEM_HOUR,
    InvalidHistoryStartError,
    history_start,
)


def test_without_the_setting_the_history_starts_at_a_recent_hour() -> None:
    assert history_start({}) == DEFAULT_HISTORY_START
    assert DEFAULT_HISTORY_START > "2026-01-01", "not two decades of partitions"


@pytest.mark.parametrize(
    ("value", "start"),
    [
        (FIRST_ITEM_HOUR, "2006-10-09-18:00"),
        ("2026-12-01", "2026-12-01-00:00"),
        (" 2026-12-01-05:00 ", "2026-12-01-05:00"),
    ],
)
def test_the_setting_names_an_hour_or_a_day(value: str, start: str) -> None:
    assert history_start({"HN_HISTORY_START": value}) == start


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("yesterday", "is not an hour: use YYYY-MM-DD-HH:00"),
        ("2026-12-01-05:30", "must be a whole hour"),
        ("2006-10-09-17:00", "from 2006-10-09-18:00 (the first HN item) to now"),
        ("2999-01-01", "to now"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(value: str, says: str) -> None:
    with pytest.raises(InvalidHistoryStartError, match="HN_HISTORY_START") as refused:
        history_start({"HN_HISTORY_START": value})
    assert says in str(refused.value)


def test_the_location_loads_its_partitions_from_the_setting() -> None:
    """In a fresh process, as a code server loads it: the partitions start where the setting says."""
    code = "from hn_assets.history import HOURLY; print(HOURLY.get_first_partition_key())"
    env_start = subprocess.run(
        [sys.executable, "-c", code],
        env={"HN_HISTORY_START": "2026-12-01-05:00", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert env_start.stdout.strip() == "2026-12-01-05:00"

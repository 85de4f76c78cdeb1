"""Pytest plugin (entry point ``hn_testing``): fixtures shared by every package's tests.

Loaded in every test session of the workspace, so it imports nothing heavy at import time: the emulator
(fakesnow, the Snowflake connector, dagster-snowflake: seconds of imports) is imported only when a test
asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hn_testing.code_host import CodeHostState
    from hn_testing.snowflake_emulator import SnowflakeEmulator

# Databases that exist in the account before a test runs, one per standing environment; clones are made by the
# tests (or override ``snowflake_emulator_databases``).
STANDING_DATABASES: tuple[str, ...] = ("PRODUCTION", "STAGING", "LOCAL")


#: The generated items' times start in November 2023 (hn_offline_api.fixtures): the tests' history starts before them.
TEST_HISTORY_START = "2023-11-01-00:00"


def pytest_configure(config: pytest.Config) -> None:
    """fakesnow reads every result through DuckDB's DB-API Arrow export, which DuckDB 2 warns about. The history's
    first hour is read when hn_assets is imported (and by every process a test starts): set it for the generated
    items before any of them."""
    config.addinivalue_line("filterwarnings", "ignore:Arrow output on a DB-API result makes an extra copy:UserWarning")
    os.environ.setdefault("HN_HISTORY_START", TEST_HISTORY_START)


@pytest.fixture
def snowflake_emulator_databases() -> tuple[str, ...]:
    """Databases created (empty) before a test gets ``snowflake_emulator``; override to change them."""
    return STANDING_DATABASES


@pytest.fixture
def snowflake_emulator(tmp_path: Path, snowflake_emulator_databases: tuple[str, ...]) -> Iterator[SnowflakeEmulator]:
    """A fresh in-process Snowflake for one test, persisted under ``tmp_path / "snowflake"``.

    While it is active, ``snowflake.connector.connect`` (hence ``SnowflakeResource`` and
    ``SnowflakePandasIOManager``) talks to the emulator; until a test creates users, any account, user and
    password connect as an unrestricted ``ACCOUNTADMIN`` (see ``provisioned_snowflake`` for access control).
    Yields a ``SnowflakeEmulator`` for setting up and inspecting state with plain SQL.
    """
    from hn_testing.snowflake_emulator import snowflake_emulator as start_emulator

    with start_emulator(tmp_path / "snowflake", databases=snowflake_emulator_databases) as emulator:
        yield emulator


@pytest.fixture
def provisioned_snowflake(snowflake_emulator: SnowflakeEmulator, request: pytest.FixtureRequest) -> SnowflakeEmulator:
    """``snowflake_emulator`` provisioned by the repository's ``deploy/snowflake/`` scripts, run as its admin.

    From then on every connection must name a provisioned user (see ``hn_testing.environments`` for the names)
    and is held to its roles' privileges.
    """
    from hn_testing.provisioning import provision

    provision(snowflake_emulator, request.config.rootpath)
    return snowflake_emulator


@pytest.fixture
def code_host() -> Iterator[CodeHostStandIn]:
    """The GitHub and GitLab pull-request APIs, served on 127.0.0.1 (``hn_testing.code_host``): add pull requests to
    ``.state``, and pass ``.github`` (or ``.gitlab``) to ``use_environment("production", **...)``."""
    from hn_testing.code_host import CodeHostState, serve_code_host

    state = CodeHostState()
    with serve_code_host(state) as url:
        yield CodeHostStandIn(state, url)


class CodeHostStandIn:
    def __init__(self, state: CodeHostState, url: str) -> None:
        from hn_testing.code_host import PROJECT_ID, REPOSITORY, TOKEN

        self.state, self.url = state, url
        self.github = {"HN_CODE_HOST": "github", "HN_CODE_HOST_PROJECT": REPOSITORY, "HN_CODE_HOST_TOKEN": TOKEN,
                       "HN_CODE_HOST_API_URL": url}  # fmt: skip
        self.gitlab = {"HN_CODE_HOST": "gitlab", "HN_CODE_HOST_PROJECT": str(PROJECT_ID), "HN_CODE_HOST_TOKEN": TOKEN,
                       "HN_CODE_HOST_API_URL": f"{url}/api/v4"}  # fmt: skip

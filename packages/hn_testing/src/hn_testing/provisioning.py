"""The repository's Snowflake provisioning (``deploy/snowflake/*.sql``), applied to an emulator as an admin would.

The scripts run in file-name order through ``SnowflakeEmulator.run_script``, as the account's first admin user:
access control applies to them too, so a script that would fail on a real account (a grant by a role that may not
make it, an ownership transfer BCR 2395 refuses) fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hn_testing.snowflake_emulator import SnowflakeEmulator

PROVISIONING_DIRECTORY = Path("deploy") / "snowflake"


def provisioning_scripts(root: Path) -> list[Path]:
    """The provisioning scripts of the repository at ``root``, in the order they run."""
    scripts = sorted((root / PROVISIONING_DIRECTORY).glob("*.sql"))
    if not scripts:
        raise FileNotFoundError(f"no provisioning scripts in {root / PROVISIONING_DIRECTORY}")
    return scripts


def provision(emulator: SnowflakeEmulator, root: Path) -> list[str]:
    """Run every provisioning script of the repository at ``root`` on ``emulator``; returns every status line."""
    return [status for script in provisioning_scripts(root) for status in emulator.run_script(script.read_text())]

"""Shell scripts tracked by git, each checked whole as the shell its `#!` names.

Every file whose first line is a `#!` for bash, sh, dash or ksh, and every `*.sh`
or `*.bash` (one without a `#!` gets shellcheck's own finding for that). Checked whole, with no exclusion; a
`# shellcheck disable=...` directive in a script needs a comment saying why.
"""

from __future__ import annotations

import re
from pathlib import Path

from .script import Script

SHEBANG = re.compile(r"#!\s*(?:/usr/bin/env\s+(?:-\S+\s+)*)?(?:\S*/)?(bash|sh|dash|ksh)\b")


def is_shell_script(path: Path) -> bool:
    """Whether shellcheck should check the file: a shell by its name or by its `#!` (it may have no suffix)."""
    if path.suffix in (".sh", ".bash"):
        return True
    try:
        with path.open("rb") as file:
            first = file.readline(200).decode("utf-8", "replace")
    except OSError:
        return False
    return SHEBANG.match(first) is not None


def file_script(path: Path) -> Script:
    """A script file, checked whole: no shell given (its `#!` names it), no exclusion, its lines its own."""
    return Script(path=path, where="script", text="", shell=None, excluded=())

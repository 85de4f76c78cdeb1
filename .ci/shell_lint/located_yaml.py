"""YAML that remembers where each string stands, so that a finding in a script maps back to the line in the YAML.

PyYAML's SafeLoader drops positions once it has built Python values; this loader keeps each string's line, column
and quoting style on the string itself (``Located``), and reads GitLab's ``!reference`` tag, which SafeLoader
refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import CheckError


class Located(str):
    """A YAML string with its place in the file, to map a line of a script back to the line of the YAML."""

    path: Path
    style: str | None  # None (plain), "'", '"', "|" or ">"
    line: int  # 1-based line of the string's first character (the line after a `|` or `>` indicator)
    column: int  # 1-based column of that character (for a block scalar: of the indicator)


class Reference(list):
    """GitLab's `!reference [job, key, ...]`: resolved once every job's `extends` is merged."""


class LocatingLoader(yaml.SafeLoader):
    """SafeLoader whose strings are Located, and which reads GitLab's `!reference` tag."""

    path: Path = Path("-")


def _construct_located(loader: LocatingLoader, node: yaml.ScalarNode) -> Located:
    value = Located(loader.construct_scalar(node))
    value.path, value.style = loader.path, node.style
    mark = node.start_mark
    if node.style in ("|", ">"):
        value.line, value.column = mark.line + 2, mark.column + 1
    else:
        value.line, value.column = mark.line + 1, mark.column + 1 + (node.style in ("'", '"'))
    return value


def _construct_reference(loader: LocatingLoader, node: yaml.Node) -> Reference:
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(None, None, "!reference takes a list", node.start_mark)
    return Reference(loader.construct_sequence(node))


LocatingLoader.add_constructor("tag:yaml.org,2002:str", _construct_located)
LocatingLoader.add_constructor("!reference", _construct_reference)


def load_yaml(path: Path) -> Any:
    """The file's YAML with its strings Located; a file that does not parse stops the check (exit status 2)."""
    loader = LocatingLoader(path.read_text(encoding="utf-8"))
    loader.path = path
    try:
        return loader.get_single_data()
    except yaml.YAMLError as error:
        raise CheckError(f"{path}: not valid YAML: {error}") from error
    finally:
        loader.dispose()


_LINES: dict[Path, list[str]] = {}


def source_lines(path: Path) -> list[str]:
    """The lines of a YAML file, read once per run: a finding is mapped back by comparing with them."""
    if path not in _LINES:
        _LINES[path] = path.read_text(encoding="utf-8").splitlines()
    return _LINES[path]


def forget_source_lines() -> None:
    """Drop the lines read so far: files may have changed since an earlier run in the same process."""
    _LINES.clear()

"""What is checked (``Script``), and where its lines come from: a shellcheck finding's line and column in the
script, mapped back to the line and column of the file it is written in (a YAML string, or a script file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .located_yaml import Located, source_lines


@dataclass(frozen=True)
class Piece:
    """A run of the script's lines that come from one YAML string, or from a file line for line."""

    first: int  # 1-based line in the script
    text: str  # the text as it stands in the script


@dataclass
class Script:
    """One shell program to check, and how to map a line of it back to where it is written."""

    path: Path  # the file it is written in
    where: str  # which step or job, for the message
    text: str
    shell: str | None  # --shell for shellcheck; None for a file, whose `#!` says it
    excluded: tuple[str, ...]
    pieces: tuple[Piece, ...] = ()  # empty for a file: its lines are the script's lines
    offset: int = 0  # lines prepended (the `set` line), taken off shellcheck's line numbers
    mapped: bool = True  # False when the text's lines no longer match the YAML's (a `${{ }}` over several lines)

    def place(self, line: int, column: int) -> tuple[Path, int, int, str]:
        """Where shellcheck's (line, column) of this script is in the file, and a note when only approximately."""
        line -= self.offset
        if not self.pieces:
            return self.path, line, column, ""
        piece = next((p for p in reversed(self.pieces) if p.first <= line), self.pieces[0])
        within = line - piece.first + 1
        source = piece.text
        if not isinstance(source, Located):
            return self.path, 1, 1, f" (line {within}, column {column} of {self.where})"
        lines = source.split("\n")
        offset = sum(len(text) + 1 for text in lines[: within - 1]) + column - 1
        spot = locate(source, offset) if self.mapped else None
        if spot is None:
            return self.path, source.line, source.column, f" (line {within}, column {column} of the script)"
        return self.path, *spot, ""


def locate(source: Located, offset: int) -> tuple[int, int] | None:
    """The file's (line, column) of the character at offset in the string, where the string stands in the file
    character for character (line breaks aside); None where quoting or folding makes that unsure."""
    if source.style in ("|", ">"):
        starts = block_starts(source)
        if starts is None:
            return None
        at, line, column = next(start for start in reversed(starts) if start[0] <= offset)
        return line, column + offset - at
    if "\n" in source or (source.style and "\\" in source_lines(source.path)[source.line - 1]):
        return None  # a flow scalar over several lines (folded), or one with escapes
    return source.line, source.column + offset


def block_starts(source: Located) -> list[tuple[int, int, int]] | None:
    """For a `|` or `>` block: where each of its lines starts, as (offset in the string, file line, file column),
    found by folding the file's lines as YAML does and comparing with the string; None if they differ."""
    file_lines = source_lines(source.path)
    indent, starts, text = None, [], ""
    previous, empty = None, 0
    for number in range(source.line, len(file_lines) + 1):
        raw = file_lines[number - 1]
        if not raw.strip():
            empty += 1
            continue
        width = len(raw) - len(raw.lstrip(" "))
        indent = width if indent is None else indent
        if width < indent:
            break
        content = raw[indent:]
        kind = "more" if content[0] in " \t" else "text"
        if previous is not None:
            if source.style == ">" and previous == kind == "text":
                text += " " if empty == 0 else "\n" * empty
            else:
                text += "\n" * (empty + 1)
        starts.append((len(text), number, indent + 1))
        text += content
        previous, empty = kind, 0
    return starts if starts and text == source.rstrip("\n") else None


def joined(parts: list[str]) -> tuple[str, tuple[Piece, ...]]:
    """Script lines joined with newlines, as a CI system runs a list of commands, with where each part starts."""
    pieces, line = [], 1
    for part in parts:
        pieces.append(Piece(line, part))
        line += part.count("\n") + 1
    return "\n".join(parts), tuple(pieces)

"""Code versions derived from source: a function's own text and that of every project function it calls.

Dagster compares an asset's ``code_version`` with the one its last materialization recorded, and a pull request's
branch deployment compares it with production's: an asset whose version differs was changed. A hand-written version
string is forgotten when a transform changes; a version read from the source is not. ``source_version`` hashes the
source of a function, then follows the names its code uses to the project's own functions and classes (in the
packages ``PROJECT_PACKAGES``) and to the plain constants it reads, recursively, so that editing
``hn_core.transforms.items_of_type`` changes the version of ``comments`` and ``stories`` and of nothing else.
Formatting counts as a change (the source is hashed as written): a false positive runs an asset for nothing, a
false negative would hide a change.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from types import CodeType, FunctionType, MappingProxyType
from typing import Any

#: Where the project's code lives: calls into other packages (pandas, Dagster) are their versions' business.
PROJECT_PACKAGES = ("hn_core", "hn_assets", "db_ops")
#: Constants whose value is part of a version: those whose text is the same wherever they are printed.
_PLAIN = (str, int, float, bool, tuple, frozenset, MappingProxyType, dict, type(None))


def source_version(function: Callable[..., Any], packages: tuple[str, ...] = PROJECT_PACKAGES) -> str:
    """A short hash of ``function``'s source and of everything of the project it reaches (see the module)."""
    parts = reached(function, packages)
    digest = hashlib.sha256()
    for name in sorted(parts):
        digest.update(f"{name}\0{parts[name]}\0".encode())
    return digest.hexdigest()[:16]


def reached(function: Callable[..., Any], packages: tuple[str, ...] = PROJECT_PACKAGES) -> dict[str, str]:
    """What a version of ``function`` is made of: ``{qualified name: source or value}`` of all it reaches."""
    parts: dict[str, str] = {}
    _collect(function, packages, parts)
    return parts


def _in_project(obj: Any, packages: tuple[str, ...]) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in packages


def _collect(obj: Any, packages: tuple[str, ...], parts: dict[str, str]) -> None:
    obj = inspect.unwrap(obj)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not _in_project(obj, packages):
        return
    name = f"{obj.__module__}.{obj.__qualname__}"
    if name in parts:
        return
    try:
        parts[name] = inspect.getsource(obj)
    except (OSError, TypeError):  # defined where no source is kept (an interactive session)
        parts[name] = repr(obj)
    functions = [obj] if inspect.isfunction(obj) else [f for f in vars(obj).values() if inspect.isfunction(f)]
    for function in functions:
        _follow(function, packages, parts)


def _follow(function: FunctionType, packages: tuple[str, ...], parts: dict[str, str]) -> None:
    """Everything ``function``'s code names in its module's globals: project code, and plain constants by value."""
    scope: Mapping[str, Any] = function.__globals__
    for used in _names(function.__code__):
        if used not in scope:
            continue
        value = scope[used]
        if inspect.isfunction(value) or inspect.isclass(value):
            _collect(value, packages, parts)
        elif isinstance(value, _PLAIN) and not used.startswith("__"):
            parts.setdefault(f"{function.__module__}:{used}", repr(value))


def _names(code: CodeType) -> Iterator[str]:
    """The global names a code object and the code nested in it (comprehensions, inner functions) use."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _names(constant)

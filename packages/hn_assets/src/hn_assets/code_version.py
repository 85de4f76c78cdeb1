"""Code versions derived from source: a function's own text and that of every project function it calls.

Dagster compares an asset's ``code_version`` with the one its last materialization recorded, and a pull request's
branch deployment compares it with production's: an asset whose version differs was changed. A hand-written version
string is forgotten when a transform changes; a version read from the source is not. ``source_version`` hashes the
source of a function, then follows what it uses to the project's own functions and classes (in the packages
``PROJECT_PACKAGES``): the globals its code names (and the attributes it reads of project modules), its closure,
the classes its parameters are annotated with (a config class's defaults, a resource's interface), and the plain
constants it reads, recursively, so that editing
``hn_core.transforms.items_of_type`` changes the version of ``comments`` and ``stories`` and of nothing else.
Formatting counts as a change (the source is hashed as written): a false positive runs an asset for nothing, a
false negative would hide a change.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from types import CodeType, FunctionType, MappingProxyType, ModuleType
from typing import Any, get_args

#: Where the project's code lives: calls into other packages (pandas, Dagster) are their versions' business.
PROJECT_PACKAGES = ("hn_core", "hn_assets", "db_ops")
#: Constants whose value is part of a version: those whose text is the same in every process (not sets: the order
#: of a set of strings changes with the process's hash seed).
_PLAIN = (str, int, float, bool, tuple, MappingProxyType, dict, type(None))


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
    except (OSError, TypeError):  # no source kept (generated methods, an interactive session): its bytecode
        parts[name] = obj.__code__.co_code.hex() if inspect.isfunction(obj) else obj.__qualname__
    for function in _functions_of(obj, packages):
        _follow(function, packages, parts)


def _functions_of(obj: Any, packages: tuple[str, ...]) -> Iterator[FunctionType]:
    """A function itself; a class's own methods (static, class and property ones too), if the project wrote them."""
    if inspect.isfunction(obj):
        yield obj
        return
    for member in vars(obj).values():
        for candidate in (member, getattr(member, "__func__", None), getattr(member, "fget", None)):
            if inspect.isfunction(candidate) and _in_project(candidate, packages):
                yield candidate


def _follow(function: FunctionType, packages: tuple[str, ...], parts: dict[str, str]) -> None:
    """What ``function`` uses: the globals its code names (and their attributes, for project modules), what its
    closure holds, and the types its parameters are annotated with (config classes, resource interfaces)."""
    scope: Mapping[str, Any] = function.__globals__
    names = set(_names(function.__code__))
    for used in sorted(names):
        if used not in scope:
            continue
        value = scope[used]
        if inspect.ismodule(value) and _in_project_module(value, packages):
            for attribute in sorted(names):
                _use(getattr(value, attribute, None), f"{value.__name__}:{attribute}", packages, parts)
        else:
            _use(value, f"{function.__module__}:{used}", packages, parts)
    for cell in function.__closure__ or ():
        with suppress(ValueError):  # an empty cell
            _use(cell.cell_contents, f"{function.__module__}.{function.__qualname__}:closure", packages, parts)
    for annotation in inspect.get_annotations(function).values():
        for kind in _types_in(annotation):
            _collect(kind, packages, parts)


def _use(value: Any, name: str, packages: tuple[str, ...], parts: dict[str, str]) -> None:
    if inspect.isfunction(value) or inspect.isclass(value):
        _collect(value, packages, parts)
    elif isinstance(value, _PLAIN) and not name.rsplit(":", 1)[-1].startswith("__"):
        text = repr(value)
        if " at 0x" not in text:  # a value that names an object by its address differs from process to process
            parts.setdefault(name, text)


def _in_project_module(module: ModuleType, packages: tuple[str, ...]) -> bool:
    return module.__name__.split(".")[0] in packages


def _types_in(annotation: Any) -> Iterator[Any]:
    """The classes an annotation names, through generics such as ``ResourceParam[HNClient]`` or ``X | None``."""
    if isinstance(annotation, str):  # postponed (``from __future__ import annotations``): not resolved here
        return
    yield annotation
    for argument in get_args(annotation):
        yield from _types_in(argument)


def _names(code: CodeType) -> Iterator[str]:
    """The global names a code object and the code nested in it (comprehensions, inner functions) use."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _names(constant)

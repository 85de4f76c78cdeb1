"""Code versions read from source: they change with the function and with the project code it calls, not otherwise."""

from __future__ import annotations

import importlib
import linecache
import sys
from pathlib import Path

from hn_assets.code_version import source_version

ASSET = """
from demo_pkg.helpers import LIMIT, transform


def body(rows):
    return [transform(row) for row in rows][:LIMIT]
"""


def load(tmp_path: Path, helpers: str):
    """``demo_pkg.asset.body`` with ``helpers`` as the source of ``demo_pkg.helpers``, freshly imported."""
    package = tmp_path / "demo_pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(helpers)
    (package / "asset.py").write_text(ASSET)
    if str(tmp_path) not in sys.path:
        sys.path.insert(0, str(tmp_path))
    linecache.clearcache()
    for name in ("demo_pkg.asset", "demo_pkg.helpers", "demo_pkg"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module("demo_pkg.asset").body


HELPERS = "LIMIT = 10\n\n\ndef transform(row):\n    return row * 2\n\n\ndef unrelated():\n    return 1\n"


def test_a_version_follows_the_code_it_calls_and_only_that(tmp_path: Path) -> None:
    packages = ("demo_pkg",)
    original = source_version(load(tmp_path, HELPERS), packages)

    same = source_version(load(tmp_path, HELPERS), packages)
    unrelated = source_version(load(tmp_path, HELPERS.replace("return 1", "return 2")), packages)
    transform = source_version(load(tmp_path, HELPERS.replace("row * 2", "row * 3")), packages)
    constant = source_version(load(tmp_path, HELPERS.replace("LIMIT = 10", "LIMIT = 11")), packages)

    assert original == same == unrelated
    assert len({original, transform, constant}) == 3

"""One definitions load in a fresh process: ``python -m benchmarks.load_probe MODULE``.

Imports ``dagster``, then the location module, builds its ``Definitions`` (calling a lazy ``@dg.definitions``
function as Dagster does) and validates them as ``dagster definitions validate`` does; prints the seconds of each
step and which Snowflake modules ended up imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

STARTED = time.perf_counter()

SNOWFLAKE_MODULES = ("snowflake.connector", "dagster_snowflake", "dagster_snowflake_pandas")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="e.g. hn_assets.definitions")
    args = parser.parse_args(argv)

    import dagster as dg

    dagster_imported = time.perf_counter()
    module = importlib.import_module(args.module)
    module_imported = time.perf_counter()
    defs = module.defs if isinstance(module.defs, dg.Definitions) else module.defs()
    dg.Definitions.validate_loadable(defs)
    loaded = time.perf_counter()

    from benchmarks.child import emit

    emit(
        {
            "module": args.module,
            "import_dagster_seconds": dagster_imported - STARTED,
            "import_module_seconds": module_imported - dagster_imported,
            "build_and_validate_seconds": loaded - module_imported,
            "load_seconds": loaded - STARTED,
            "snowflake_modules": {name: name in sys.modules for name in SNOWFLAKE_MODULES},
        }
    )


if __name__ == "__main__":
    main()

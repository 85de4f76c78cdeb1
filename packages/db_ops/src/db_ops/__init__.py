"""Code location ``db_ops``: per-pull-request clones of the production database."""

from db_ops.ops import clone_prod, clone_production_database, drop_database_clone, drop_prod_clone
from db_ops.sweeper import drop_stale_clones, stale_clones, sweep_stale_clones

__all__ = [
    "clone_prod",
    "clone_production_database",
    "drop_database_clone",
    "drop_prod_clone",
    "drop_stale_clones",
    "stale_clones",
    "sweep_stale_clones",
]

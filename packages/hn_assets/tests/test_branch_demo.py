"""The pull-request loop on a laptop: ``hn-branch-demo`` clones, runs exactly the changed asset in the clone, reports
the diff with exact counts, and leaves production as it was."""

from __future__ import annotations

from pathlib import Path

import duckdb

from hn_assets.branch_demo import main
from hn_offline_api.fixtures import IRREGULAR_MIX, generate_items


def comments_of(path: Path, schema: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"SELECT id, dead FROM {schema}.comments ORDER BY id").fetchall()


def test_the_demo_runs_the_changed_asset_in_the_clone_and_reports_its_diff(tmp_path: Path, capsys) -> None:
    served = generate_items(5_000, mix=IRREGULAR_MIX)  # what the demo's offline API serves; it fetches the newest 300
    recent = [item for item_id, item in served.items() if item and item_id > 5_000 - 300 and not item.get("deleted")]
    dead = sorted(item["id"] for item in recent if item["type"] == "comment" and item.get("dead"))

    assert main(["--items", "300", "--keep", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    assert "4. It touches: comments (code_version)\n" in out, "only the changed asset, nothing downstream of it"
    assert f"| 0 | {len(dead)} | 0 |" in out, "rows added, removed, changed"
    assert f"Sample keys: removed: {', '.join(map(str, dead[:5]))}." in out
    assert "Checks that did not pass: comments_match_items." in out, "the change breaks what that check guards"
    production, clone = tmp_path / "local_warehouse.duckdb", tmp_path / "PRODUCTION_CLONE_1.duckdb"
    assert comments_of(production, "HACKER_NEWS") == comments_of(clone, "HACKER_NEWS_BASE")
    assert any(is_dead for _, is_dead in comments_of(production, "HACKER_NEWS")), "production keeps its dead comments"
    assert not any(is_dead for _, is_dead in comments_of(clone, "HACKER_NEWS"))
    assert len(dead) > 0

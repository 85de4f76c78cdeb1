"""Deterministic, realistic Hacker News items for the offline server, tests and benchmarks.

Ids are contiguous from 1 to ``max_item_id``; a child always has a larger id than its parent, as on HN. The mix
follows the live site roughly: mostly comments, then stories, a few jobs, polls with their options, deleted and
dead items, and ids the API answers with ``null``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hn_core.client import Item

_WORDS = [
    "rust",
    "python",
    "database",
    "query",
    "latency",
    "cache",
    "kernel",
    "compiler",
    "startup",
    "open",
    "source",
    "release",
    "model",
    "data",
    "warehouse",
    "pipeline",
    "stream",
    "async",
    "parser",
    "browser",
    "protocol",
    "security",
    "privacy",
    "design",
    "review",
    "benchmark",
]
_DOMAINS = ("example.com", "blog.example.org", "news.example.net", "github.com", "arxiv.org")
_FIRST_TIME = 1_700_000_000


@dataclass(frozen=True)
class ItemMix:
    """Shares of each kind of item; comments take the rest."""

    story: float = 0.15
    job: float = 0.01
    poll: float = 0.005
    pollopt: float = 0.01
    deleted: float = 0.02
    null: float = 0.01
    dead: float = 0.02


def generate_items(max_item_id: int, seed: int = 0, mix: ItemMix | None = None) -> dict[int, Item | None]:
    """Items ``1..max_item_id`` (``None`` where the API serves ``null``), identical for the same arguments."""
    mix = mix or ItemMix()
    rng = random.Random(seed)
    items: dict[int, Item | None] = {}
    threads: list[int] = []  # stories and comments that can take replies
    polls: list[int] = []
    for item_id in range(1, max_item_id + 1):
        time = _FIRST_TIME + item_id * 7
        kind = _pick_kind(rng, mix, has_parents=bool(threads), has_polls=bool(polls))
        if kind == "null":
            items[item_id] = None
            continue
        if kind == "deleted":
            items[item_id] = {"id": item_id, "deleted": True, "type": "comment", "time": time}
            continue
        item: Item = {"id": item_id, "type": kind, "by": f"user{rng.randrange(5_000)}", "time": time}
        if kind in ("story", "job", "poll"):
            item["title"] = _sentence(rng, 4, 9).title()
            item["score"] = rng.randrange(1, 900)
        if kind == "story":
            if rng.random() < 0.8:
                item["url"] = f"https://{rng.choice(_DOMAINS)}/{'-'.join(rng.sample(_WORDS, 3))}"
            else:
                item["text"] = _sentence(rng, 10, 40)
            item["descendants"] = 0
        if kind == "poll":
            item["descendants"] = 0
            polls.append(item_id)
        if kind == "job":
            item["url"] = f"https://{rng.choice(_DOMAINS)}/careers"
        if kind == "comment":
            item["parent"] = rng.choice(threads[-500:])
            item["text"] = _sentence(rng, 5, 60)
        if kind == "pollopt":
            item["poll"] = item["parent"] = rng.choice(polls)
            item["score"] = rng.randrange(0, 300)
        if rng.random() < mix.dead:
            item["dead"] = True
        if kind in ("story", "comment"):
            threads.append(item_id)
        items[item_id] = item
    _link_children(items)
    return items


def _pick_kind(rng: random.Random, mix: ItemMix, *, has_parents: bool, has_polls: bool) -> str:
    roll = rng.random()
    for kind in ("null", "deleted", "story", "job", "poll", "pollopt"):
        roll -= getattr(mix, kind)
        if roll < 0:
            if kind == "pollopt" and not has_polls:
                return "poll"
            return kind
    return "comment" if has_parents else "story"


def _link_children(items: dict[int, Item | None]) -> None:
    """Fill ``kids`` (comments) / ``parts`` (poll options) and ``descendants`` from the parent links."""
    for item_id in sorted(items, reverse=True):  # children before parents: counts roll up in one pass
        item = items[item_id]
        if item is None or "parent" not in item:
            continue
        parent = items[item["parent"]]
        assert parent is not None
        if item["type"] == "pollopt":
            parent.setdefault("parts", []).insert(0, item_id)
            continue
        parent.setdefault("kids", []).insert(0, item_id)
        root = parent
        while "parent" in root:
            root = items[root["parent"]]  # type: ignore[assignment]
        if "descendants" in root:
            root["descendants"] += 1


def _sentence(rng: random.Random, shortest: int, longest: int) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(shortest, longest)))

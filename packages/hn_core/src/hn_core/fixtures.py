"""Deterministic, realistic Hacker News items for the offline server, tests and benchmarks.

Ids are contiguous from 1 to ``max_item_id``; a child always has a larger id than its parent, as on HN. The mix
follows the live site roughly: mostly comments, then stories, a few jobs, polls with their options, deleted and
dead items, and ids the API answers with ``null``.

Times grow with ids, as on HN, at a realistic rate: the gaps between consecutive ids are those of a Poisson process
(about 2.2 s on average, some 39,000 ids a day, like the live site), now and then a quiet spell of one to three hours
(an outage: hours with no item at all), and several ids may share a second. They are drawn from a random stream of
their own, so the items themselves do not depend on the timing chosen.
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
class ItemTiming:
    """When the items were created: item 1 at ``first_time``, then a mean of ``seconds_per_item`` between ids.

    After each item a quiet spell of ``quiet_seconds`` (uniformly between the two bounds) follows with probability
    ``quiet_share``. ``newest_at`` shifts every time so that the newest item was created then (e.g. now, so that the
    latest hours have items).
    """

    first_time: int = _FIRST_TIME
    seconds_per_item: float = 2.2
    quiet_share: float = 0.000_1
    quiet_seconds: tuple[int, int] = (3_600, 3 * 3_600)
    newest_at: int | None = None

    def __post_init__(self) -> None:
        if self.seconds_per_item <= 0:
            raise ValueError(f"ItemTiming.seconds_per_item is {self.seconds_per_item!r}; give a positive number.")
        if not 0.0 <= self.quiet_share <= 1.0:
            raise ValueError(f"ItemTiming.quiet_share is {self.quiet_share!r}; give a share between 0 and 1.")
        shortest, longest = self.quiet_seconds
        if not 0 <= shortest <= longest:
            raise ValueError(
                f"ItemTiming.quiet_seconds is {self.quiet_seconds!r}; give (shortest, longest), 0 or more."
            )

    def times(self, count: int, seed: int) -> list[int]:
        """Creation times of ids ``1..count`` in Unix seconds: never decreasing, identical for the same seed."""
        rng = random.Random(f"item-times:{seed}")
        times, moment = [], float(self.first_time)
        for _ in range(count):
            times.append(int(moment))
            moment += rng.expovariate(1 / self.seconds_per_item)
            if rng.random() < self.quiet_share:
                moment += rng.uniform(*self.quiet_seconds)
        if self.newest_at is not None and times:
            shift = self.newest_at - times[-1]
            if times[0] + shift < 0:
                raise ValueError(
                    f"ItemTiming.newest_at {self.newest_at} would put item 1 before 1970: give a later time."
                )
            times = [moment + shift for moment in times]
        return times


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


def generate_items(
    max_item_id: int, seed: int = 0, mix: ItemMix | None = None, timing: ItemTiming | None = None
) -> dict[int, Item | None]:
    """Items ``1..max_item_id`` (``None`` where the API serves ``null``), identical for the same arguments."""
    mix = mix or ItemMix()
    rng = random.Random(seed)
    times = (timing or ItemTiming()).times(max_item_id, seed)
    items: dict[int, Item | None] = {}
    threads: list[int] = []  # stories and comments that can take replies
    polls: list[int] = []
    for item_id, time in enumerate(times, start=1):
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

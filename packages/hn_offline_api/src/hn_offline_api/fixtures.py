"""Deterministic, realistic Hacker News items for the offline server, tests and benchmarks.

Ids are contiguous from 1 to ``max_item_id``; a child always has a larger id than its parent, as on HN. The mix
follows the live site roughly: mostly comments, then stories, a few jobs, polls with their options, deleted and
dead items, and ids the API answers with ``null``.

Times grow with ids almost everywhere, as on HN, at a realistic rate: the gaps between consecutive ids are those of a
Poisson process (about 2.2 s on average, some 39,000 ids a day, like the live site), now and then a quiet spell of
one to three hours (an outage: hours with no item at all), and several ids may share a second. And, as on HN, not
everywhere: a few ids have a time one to three seconds before the id just below them (same-moment submissions whose
ids came out in the other order), and a few stories are served with a time hours newer than their neighbours' (the
site re-dates stories it re-ups through its second-chance pool). ``ItemMix.null_stretch_share`` adds stretches of
ids that were never created. Times are drawn from random streams of their own, so the items themselves do not
depend on the timing chosen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hn_core.hn_api.client import Item

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
    out_of_order_share: float = 0.002
    redated_share: float = 0.02
    redated_seconds: tuple[int, int] = (3_600, 6 * 3_600)

    def __post_init__(self) -> None:
        if self.seconds_per_item <= 0:
            raise ValueError(f"ItemTiming.seconds_per_item is {self.seconds_per_item!r}; give a positive number.")
        for name in ("quiet_share", "out_of_order_share", "redated_share"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"ItemTiming.{name} is {share!r}; give a share between 0 and 1.")
        shortest, longest = self.quiet_seconds
        if not 0 <= shortest <= longest:
            raise ValueError(
                f"ItemTiming.quiet_seconds is {self.quiet_seconds!r}; give (shortest, longest), 0 or more."
            )

    def times(self, count: int, seed: int) -> list[int]:
        """Creation times of ids ``1..count`` in Unix seconds, identical for the same seed: never decreasing but
        where ``out_of_order_share`` puts an id 1-3 s before the one below it."""
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
        irregular = random.Random(f"item-order:{seed}")
        for index in range(1, count):
            if irregular.random() < self.out_of_order_share:
                times[index] = max(times[index - 1] - irregular.randint(1, 3), 0)
        return times

    def redated(self, time: int, newest: int, rng: random.Random) -> int:
        """A story's time as the site serves it: now and then re-dated hours later (never past ``newest``)."""
        if rng.random() < self.redated_share:
            return min(time + rng.randint(*self.redated_seconds), newest)
        return time


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
    null_stretch_share: float = 0.0
    null_stretch_ids: tuple[int, int] = (20, 400)


#: Items as irregular as the live site's history: stretches of never-created ids besides ``ItemTiming``'s defaults.
IRREGULAR_MIX = ItemMix(null_stretch_share=0.000_5)


def null_stretches(max_item_id: int, mix: ItemMix, seed: int) -> set[int]:
    """Ids that were never created (the API answers ``null``), in stretches of ``null_stretch_ids``."""
    rng = random.Random(f"null-stretches:{seed}")
    never_created: set[int] = set()
    item_id = 2  # item 1 exists: the history has a first item
    while mix.null_stretch_share and item_id <= max_item_id:
        if rng.random() < mix.null_stretch_share:
            length = rng.randint(*mix.null_stretch_ids)
            never_created.update(range(item_id, min(item_id + length, max_item_id)))  # the newest id exists
            item_id += length
        item_id += 1
    return never_created


def generate_items(
    max_item_id: int, seed: int = 0, mix: ItemMix | None = None, timing: ItemTiming | None = None
) -> dict[int, Item | None]:
    """Items ``1..max_item_id`` (``None`` where the API serves ``null``), identical for the same arguments."""
    mix, timing = mix or ItemMix(), timing or ItemTiming()
    rng = random.Random(seed)
    times = timing.times(max_item_id, seed)
    redating = random.Random(f"redated:{seed}")
    newest = max(times, default=0)
    never_created = null_stretches(max_item_id, mix, seed)
    items: dict[int, Item | None] = {}
    threads: list[int] = []  # stories and comments that can take replies
    polls: list[int] = []
    for item_id, time in enumerate(times, start=1):
        kind = _pick_kind(rng, mix, has_parents=bool(threads), has_polls=bool(polls))
        if kind == "null" or item_id in never_created:
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
            item["time"] = timing.redated(time, newest, redating)
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

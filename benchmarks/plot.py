"""The throughput plot: items/s against N for both fetchers, with the latency/concurrency bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt


def plot_throughput(summary: list[dict[str, Any]], bound: float, latency_ms: float, path: Path) -> None:
    """Write the PNG: the client's median with its range, the guide's loop (hollow where extrapolated), targets."""
    sizes = [row["n"] for row in summary]
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    rates = [row["client_items_per_s"] for row in summary]
    spread = [
        [rate - row["client_items_per_s_range"][0] for rate, row in zip(rates, summary, strict=True)],
        [row["client_items_per_s_range"][1] - rate for rate, row in zip(rates, summary, strict=True)],
    ]
    axes.errorbar(
        sizes, rates, yerr=spread, fmt="o-", capsize=4, color="tab:blue", label="HNAPIClient (median, min-max)"
    )
    if summary[0]["guide_items_per_s"] is not None:
        _plot_guide(axes, summary)
        guide_rate = summary[-1]["guide_items_per_s"]
        axes.axhline(100 * guide_rate, color="tab:red", linestyle=":", linewidth=1, label="100x the guide loop")
    axes.axhline(bound, color="black", linewidth=1, label=f"bound: concurrency / latency = {bound:,.0f} items/s")
    axes.axhline(0.75 * bound, color="gray", linestyle=":", linewidth=1, label="75% of the bound")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.set_xlabel("N (items fetched)")
    axes.set_ylabel("items/s (log scale)")
    axes.set_title(f"Fetch throughput on the offline HN server, {latency_ms:g} ms per request")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="center right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _plot_guide(axes: Any, summary: list[dict[str, Any]]) -> None:
    """The guide's loop: one dashed line, solid squares where it ran, hollow ones where extrapolated."""
    sizes = [row["n"] for row in summary]
    measured = [row for row in summary if row["guide_measured"]]
    axes.plot(sizes, [row["guide_items_per_s"] for row in summary], "--", color="tab:red")
    axes.plot(
        [row["n"] for row in measured],
        [row["guide_items_per_s"] for row in measured],
        "s",
        color="tab:red",
        label="guide loop (measured)",
    )
    extrapolated = [row for row in summary if not row["guide_measured"]]
    if extrapolated:
        axes.plot(
            [row["n"] for row in extrapolated],
            [row["guide_items_per_s"] for row in extrapolated],
            "s",
            mfc="none",
            color="tab:red",
            label="guide loop (extrapolated: same per-item time)",
        )

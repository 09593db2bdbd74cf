"""The /stats chart: a member's contributions as bars, drawn with matplotlib's Agg backend off the event loop."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence

# (label, written counter, accepted counter or None), top to bottom
ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("Prompts", "prompts", "accepted_prompts"),
    ("Assistant replies", "replies_assistant", "accepted_replies_assistant"),
    ("User replies", "replies_prompter", "accepted_replies_prompter"),
    ("Quick reviews", "labels_simple", None),
    ("Full reviews", "labels_full", None),
    ("Rankings", "rankings_total", None),
    ("Ranked 1st", "reply_ranked_1", None),
    ("Ranked 2nd", "reply_ranked_2", None),
    ("Ranked 3rd", "reply_ranked_3", None),
)


def contributions_png(counters: Mapping[str, int], title: str, daily: Sequence[int] = ()) -> bytes:
    """Horizontal bars of each counter, with the accepted share overlaid; returns PNG bytes.

    Uses a bare `Figure` (no pyplot state), so it is safe to call from a worker thread."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: matplotlib is slow to import
    from matplotlib.figure import Figure

    labels = [label for label, _, _ in ROWS][::-1]
    done = [counters.get(name, 0) for _, name, _ in ROWS][::-1]
    accepted = [counters.get(acc, 0) if acc else 0 for _, _, acc in ROWS][::-1]
    fig = Figure(figsize=(6.4, 6.0 if daily else 3.6), dpi=100, layout="tight")
    FigureCanvasAgg(fig)
    if daily:
        over_time = fig.add_subplot(2, 1, 1)
        days = list(range(-len(daily) + 1, 1))
        over_time.bar(days, list(daily), color="#2e7d32")
        over_time.set_title(f"{title} · contributions per day, last {len(daily)} days", fontsize=10)
        over_time.set_xlabel("days ago (0 = today)", fontsize=8)
        over_time.tick_params(labelsize=8)
        over_time.spines[["top", "right"]].set_visible(False)
        ax = fig.add_subplot(2, 1, 2)
    else:
        ax = fig.add_subplot()
    ax.barh(labels, done, color="#8fbf8f", label="contributed")
    ax.barh(labels, accepted, color="#2e7d32", label="accepted")
    for y, n in enumerate(done):
        if n:
            ax.text(n, y, f" {n}", va="center", fontsize=8)
    ax.set_xlim(0, max(1, *done) * 1.15)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


async def render_contributions(counters: Mapping[str, int], title: str, daily: Sequence[int] = ()) -> bytes:
    return await asyncio.to_thread(contributions_png, dict(counters), title, list(daily))


def trees_png(counts: Mapping[str, int], title: str) -> bytes:
    """Trees per state as horizontal bars (every state shown, zeros included); returns PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [state.replace("_", " ") for state in counts][::-1]
    values = list(counts.values())[::-1]
    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    axes = figure.add_subplot()
    bars = axes.barh(labels, values, color="#3ba55d")
    axes.bar_label(bars, padding=3)
    axes.set_title(title)
    axes.set_xlabel("trees")
    axes.margins(x=0.15)
    figure.tight_layout()
    out = io.BytesIO()
    FigureCanvasAgg(figure).print_png(out)
    return out.getvalue()


async def render_trees(counts: Mapping[str, int], title: str) -> bytes:
    return await asyncio.to_thread(trees_png, counts, title)

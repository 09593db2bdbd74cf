"""The /stats and /status charts: drawn with matplotlib's Agg backend off the event loop, labelled in the member's
language when the installed fonts can draw it (Chinese and Japanese need a CJK font such as Noto Sans CJK; without
one the labels are English rather than empty boxes)."""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from cogs.i18n import N_, SOURCE, Tr, tr_in
from cogs.vocabulary import STATE_NAMES, state_name
from engine.types import TreeState

# (label, written counter, accepted counter or None), top to bottom
ROWS: tuple[tuple[str, str, str | None], ...] = (
    (N_("Prompts"), "prompts", "accepted_prompts"),
    (N_("Assistant replies"), "replies_assistant", "accepted_replies_assistant"),
    (N_("User replies"), "replies_prompter", "accepted_replies_prompter"),
    (N_("Quick reviews"), "labels_simple", None),
    (N_("Full reviews"), "labels_full", None),
    (N_("Rankings"), "rankings_total", None),
    (N_("Ranked 1st"), "reply_ranked_1", None),
    (N_("Ranked 2nd"), "reply_ranked_2", None),
    (N_("Ranked 3rd"), "reply_ranked_3", None),
)
BASE_FONT = "DejaVu Sans"  # matplotlib's own
FALLBACK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans JP",
    "Noto Sans SC",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "IPAGothic",
    "Droid Sans Fallback",
)


@functools.cache
def fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """The font families charts use (matplotlib's own, then any CJK font installed) and what they can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    families = (BASE_FONT, *(name for name in FALLBACK_FONTS if name in installed))
    glyphs: set[int] = set()
    for name in families:
        path = installed.get(name) or font_manager.findfont(name)
        glyphs.update(FT2Font(path).get_charmap())
    return families, frozenset(glyphs)


def chart_tr(tr: Tr, *samples: str) -> Tr:
    """The member's language for a chart's labels if the fonts can draw it, else English."""
    _, glyphs = fonts()
    texts = [tr(s) for s in samples]
    drawable = all(ord(c) in glyphs for text in texts for c in text if not c.isspace())
    return tr if drawable else tr_in(SOURCE)


def contributions_png(tr: Tr, counters: Mapping[str, int], name: str, period: str, daily: Sequence[int] = ()) -> bytes:
    """Horizontal bars of each counter, with the accepted share overlaid; titled with the member's `name` and the
    `period` (a catalog message, e.g. "this week"); returns PNG bytes.

    Uses a bare `Figure` (no pyplot state), so it is safe to call from a worker thread."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: matplotlib is slow to import
    from matplotlib.figure import Figure

    families, _ = fonts()
    words = (*(label for label, _, _ in ROWS), "contributed", "accepted", "days ago (0 = today)", period)
    tr = chart_tr(tr, *words)
    title = f"{name} · {tr(period)}"
    labels = [tr(label) for label, _, _ in ROWS][::-1]
    done = [counters.get(name, 0) for _, name, _ in ROWS][::-1]
    accepted = [counters.get(acc, 0) if acc else 0 for _, _, acc in ROWS][::-1]
    fig = Figure(figsize=(6.4, 6.0 if daily else 3.6), dpi=100, layout="tight")
    FigureCanvasAgg(fig)
    if daily:
        over_time = fig.add_subplot(2, 1, 1)
        days = list(range(-len(daily) + 1, 1))
        over_time.bar(days, list(daily), color="#2e7d32")
        per_day = tr.plural(
            "{title} · contributions per day, last {count} day",
            "{title} · contributions per day, last {count} days",
            len(daily),
            title=title,
        )
        over_time.set_title(per_day, fontsize=10, fontfamily=families)
        over_time.set_xlabel(tr("days ago (0 = today)"), fontsize=8, fontfamily=families)
        over_time.tick_params(labelsize=8)
        over_time.spines[["top", "right"]].set_visible(False)
        ax = fig.add_subplot(2, 1, 2)
    else:
        ax = fig.add_subplot()
    ax.barh(range(len(labels)), done, color="#8fbf8f", label=tr("contributed"))
    ax.barh(range(len(labels)), accepted, color="#2e7d32", label=tr("accepted"))
    ax.set_yticks(range(len(labels)), labels, fontfamily=families)
    for y, n in enumerate(done):
        if n:
            ax.text(n, y, f" {tr.number(n)}", va="center", fontsize=8)
    ax.set_xlim(0, max(1, *done) * 1.15)
    ax.set_title(title, fontsize=10, fontfamily=families)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, loc="lower right", frameon=False, prop={"family": list(families), "size": 7})
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


async def render_contributions(
    tr: Tr, counters: Mapping[str, int], name: str, period: str, daily: Sequence[int] = ()
) -> bytes:
    return await _drawn(contributions_png, tr, dict(counters), name, period, list(daily))


def trees_png(tr: Tr, counts: Mapping[TreeState, int], lang: str) -> bytes:
    """Trees of a language per state as horizontal bars, every state shown, zeros included; returns PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    families, _ = fonts()
    tr = chart_tr(tr, *STATE_NAMES.values(), "trees", "Trees per state · {language}")
    labels = [state_name(tr, state) for state in counts][::-1]
    title = tr("Trees per state · {language}", language=lang)
    values = list(counts.values())[::-1]
    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    axes = figure.add_subplot()
    bars = axes.barh(range(len(labels)), values, color="#3ba55d")
    axes.set_yticks(range(len(labels)), labels, fontfamily=families)
    axes.bar_label(bars, padding=3)
    axes.set_title(title, fontfamily=families)
    axes.set_xlabel(tr("trees"), fontfamily=families)
    axes.margins(x=0.15)
    figure.tight_layout()
    out = io.BytesIO()
    FigureCanvasAgg(figure).print_png(out)
    return out.getvalue()


async def render_trees(tr: Tr, counts: Mapping[TreeState, int], lang: str) -> bytes:
    return await _drawn(trees_png, tr, dict(counts), lang)


# Charts are drawn off the event loop, two at a time at most for the whole bot (issue 18: a member looping /stats
# slowed everyone): further requests wait their turn in this pool instead of taking every core.
DRAWING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="grove-chart")


async def _drawn(draw: Callable[..., bytes], *args: object) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(DRAWING, draw, *args)

"""Community commands through the fake Discord: /stats with its chart, /leaderboard paging, /privacy."""

from __future__ import annotations

import json
from pathlib import Path

from engine.export import ExportOptions, export
from engine.stats import POINTS_FORMULA
from engine.types import TaskType
from tests.discord_env import Env
from tests.driver import Driver, member

REVIEW = frozenset({TaskType.LABEL_INITIAL_PROMPT})


async def community(env: Env, others: int = 12) -> int:
    """`others` test members write a prompt each and review each other's; alice writes one accepted prompt
    (so she is ranked, at the bottom). Returns alice's id."""
    engine = env.bot.engine
    users = [await member(engine, f"u{i}", f"Member {i:02}") for i in range(others)]
    d = Driver(engine, env.clock, users)
    alice = await env.member_id(env.alice)
    await d.accepted_prompt(alice)
    for user in users[:4]:
        await d.write_prompt(user)
    await d.work(kinds=REVIEW)
    await env.bot.stats.refresh_all()
    return alice


def attachments(exchange) -> list[tuple[str, bytes]]:
    return [f for call in exchange.calls for f in call.files]


async def test_stats_show_counts_formula_and_a_png_chart(env: Env) -> None:
    alice = await community(env)
    shown = await env.sim.slash("stats", env.alice)
    text = shown.text()
    assert shown.ephemeral
    for piece in ("Score", "Rank", "Level", "Prompts: 1 (1)", "Quick reviews", "1st: 0", "Streak", POINTS_FORMULA):
        assert piece in text, piece
    stats = await env.bot.stats.member(alice)
    assert f"#{stats.rank}" in text
    (name, png), *_ = attachments(shown)
    assert name == "stats.png" and png.startswith(b"\x89PNG")

    day = await env.sim.slash("stats", env.bob, period="day")
    assert "today" in day.text() and "not ranked" in day.text() and "Score\n0" in day.text()


async def test_leaderboard_pages_and_always_shows_the_callers_row(env: Env) -> None:
    alice = await community(env)
    own = await env.bot.stats.member(alice)
    assert own.rank is not None and own.rank > 10
    first = await env.sim.slash("leaderboard", env.alice)
    assert first.ephemeral and "Page 1 of 2" in first.text()
    assert first.custom_ids() == ["g:lb:total:-1", "g:lb:total:1"]
    lines = first.text().splitlines()
    assert sum(line.startswith("**#") for line in lines) == 10
    assert f"➡️ __**#{own.rank}** alice" in first.text()  # below the page

    second = await env.sim.click(first.message, "g:lb:total:1", env.alice)
    assert second.kind == 7 and "Page 2 of 2" in second.text()
    assert second.text().count(f"**#{own.rank}**") == 1  # on the page now, marked, not repeated
    assert f"➡️ __**#{own.rank}** <@{env.alice.id}>" in second.text()
    assert second.custom_ids() == ["g:lb:total:0", "g:lb:total:2"]
    back = await env.sim.click(second.message, "g:lb:total:0", env.alice)
    assert "Page 1 of 2" in back.text() and "**#1** " in back.text()

    nobody = await env.sim.slash("leaderboard", env.carol, period="week")
    assert "this week" in nobody.text() and "You: not ranked" in nobody.text()


async def test_privacy_hide_and_show_only_for_the_clicking_member(env: Env) -> None:
    alice = await community(env, others=4)
    panel = await env.sim.slash("privacy", env.alice)
    assert panel.ephemeral and panel.custom_ids() == [
        "g:pv:hide",
        "g:pv:export",
        "g:pv:name",
        "g:pv:delete",
        "g:pv:withdraw",
    ]
    hidden = await env.sim.click(panel.message, "g:pv:hide", env.alice)
    assert "hidden from" in hidden.text() and hidden.custom_ids()[0] == "g:pv:show"
    assert not (await env.bot.engine.user(alice)).show_on_leaderboard
    await env.bot.stats.refresh_all()
    board = await env.sim.slash("leaderboard", env.bob)
    assert "alice" not in board.text()
    assert (await env.bot.stats.member(alice)).rank is None
    private = await env.sim.slash("stats", env.bob, member=env.alice)
    assert "keeps their stats private" in private.text() and not attachments(private)

    # a button pressed by bob (even on alice's panel) acts for bob, never for alice
    bobs = await env.sim.click(hidden.message, "g:pv:show", env.bob)
    assert not (await env.bot.engine.user(alice)).show_on_leaderboard
    assert bobs.custom_ids()[0] == "g:pv:hide"  # the panel now shows bob's own state
    await env.sim.click(hidden.message, "g:pv:hide", env.bob)
    assert not (await env.bot.engine.user(await env.member_id(env.bob))).show_on_leaderboard
    assert not (await env.bot.engine.user(alice)).show_on_leaderboard
    again = await env.sim.slash("privacy", env.alice)
    shown = await env.sim.click(again.message, "g:pv:show", env.alice)
    assert "shown on" in shown.text() and (await env.bot.engine.user(alice)).show_on_leaderboard


async def test_privacy_export_and_delete(env: Env, tmp_path: Path) -> None:
    alice = await community(env, others=4)
    texts = [m.text for m in await env.bot.engine.messages_of_user(alice)]
    assert texts
    panel = await env.sim.slash("privacy", env.alice)
    exported = await env.sim.click(panel.message, "g:pv:export", env.alice)
    (name, raw), *_ = attachments(exported)
    data = json.loads(raw)
    assert name.endswith(".json") and [m["text"] for m in data["messages"]] == texts
    assert data["member"]["discord_id"] == str(env.alice.id)
    for m in data["messages"]:  # what became of each: its review result, its tree's state, its rank
        assert m["review"] in ("accepted", "rejected", "pending") and m["tree_state"] and "rank" in m

    everything = ExportOptions(states=None, spam="include")
    before = tmp_path / "before.jsonl"
    await export(env.bot.db, before, everything)
    assert all(t in before.read_text() for t in texts)

    confirm = await env.sim.click(panel.message, "g:pv:delete", env.alice)
    assert confirm.custom_ids() == ["g:pv:erase", "g:pv:cancel"]
    assert await env.bot.engine.messages_of_user(alice)  # nothing happens before the confirmation
    done = await env.sim.click(confirm.message, "g:pv:erase", env.alice)
    assert "were deleted" in done.text() and not done.custom_ids()
    assert await env.bot.engine.messages_of_user(alice) == []
    after = tmp_path / "after.jsonl"
    await export(env.bot.db, after, everything)
    assert not any(t in after.read_text() for t in texts)


async def test_charts_are_drawn_two_at_a_time_off_the_event_loop(monkeypatch) -> None:
    """Issue 18: a member looping /stats took everyone's latency with it. Charts are drawn on a pool of two threads:
    six at once run two by two, and the event loop stays free meanwhile."""
    import asyncio
    import threading
    import time

    from cogs import charts
    from cogs.i18n import tr_in

    running, peak, lock = 0, 0, threading.Lock()
    loop_thread = threading.get_ident()

    def slow_png(*args: object) -> bytes:
        nonlocal running, peak
        assert threading.get_ident() != loop_thread
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)  # drawing takes a while (in the worker thread)
        with lock:
            running -= 1
        return b"png"

    monkeypatch.setattr(charts, "contributions_png", slow_png)
    tr = tr_in("en")
    drawn = await asyncio.gather(*(charts.render_contributions(tr, {}, "x", "all time") for _ in range(6)))
    assert drawn == [b"png"] * 6 and peak == 2

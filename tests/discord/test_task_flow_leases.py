"""Fair task flow through the fake Discord: Stop frees a task's place at once; opening a form, paging and rank taps
hold it (the lease); /task offers open tasks first and /tasks lists them, with Resume and Release; a resume whose
place was taken gives the draft back; rate limits answer with when to ask again; Report on a ranking card reports
the reply the member picks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.types import TaskStatus, TaskType, TreeState
from tests.discord.test_discord_hostile import forged_click, forged_submit
from tests.discord.test_discord_review import configure, rank_card, ranking_tree
from tests.discord_env import Env
from tests.driver import GOOD, fill_labels
from tests.fakes import Exchange, Person
from tests.fakes.discord_api import walk_components

WRITE = 20 * 60  # the default lease of a writing task (reservation_minutes)
REVIEW = 5 * 60  # of a review or a ranking (review_reservation_minutes)
PROMPT = "How do I keep basil alive on a windowsill in winter?"


@pytest.fixture
def engine_overrides() -> dict[str, Any]:
    # one review decides, and a tree grows to its prompt plus one reply: a single reply slot to compete for
    return {
        "num_reviews_initial_prompt": 1,
        "num_reviews_reply": 1,
        "goal_tree_size": 2,
        "min_goal_tree_size": 2,
        "recent_tasks_span_sec": 0,
    }


# ---------------------------------------------------------------------------------------------- helpers


async def growing_tree(env: Env, text: str = PROMPT) -> str:
    """dave's prompt, accepted by erin and activated: it has room for exactly one reply."""
    engine = env.bot.engine
    author, reviewer = await env.member_id(env.dave), await env.member_id(env.erin)
    task = await engine.next_task(author, "en", TaskType.INITIAL_PROMPT)
    root = (await engine.submit_reply(task.id, author, text)).message_id
    assert root
    review = await engine.next_task(reviewer, "en", TaskType.LABEL_INITIAL_PROMPT)
    await engine.submit_labels(review.id, reviewer, fill_labels(review, GOOD))
    await engine.run_prompt_lottery("en")
    assert (await engine.tree_status(root)).state is TreeState.GROWING
    return root


async def reply_slots(env: Env, person: Person) -> int:
    return (await env.bot.engine.availability(await env.member_id(person), "en")).counts[TaskType.ASSISTANT_REPLY]


async def task_of(env: Env, person: Person, task_id: str):
    return await env.bot.engine.get_task(task_id, await env.member_id(person))


def task_id_of(card: Exchange) -> str:
    return card.custom_ids()[0].split(":")[2]


async def reply_card(env: Env, person: Person) -> tuple[Exchange, str]:
    card = await env.sim.slash("task", person, type="assistant_reply")
    assert card.kind == 4 and "Reply as the assistant" in card.text(), card.text()
    return card, task_id_of(card)


async def with_draft(env: Env, person: Person, card: Exchange, task_id: str, text: str) -> Exchange:
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", person)
    preview = await env.sim.submit_modal(opened, person, {"text": text})
    assert preview.kind == 7 and text in preview.text()
    return preview


def components(exchange: Exchange) -> list[dict[str, Any]]:
    return list(walk_components((exchange.message or {}).get("components") or []))


def assert_fits(exchange: Exchange) -> None:
    """Discord's limits on a message Grove sent: 5 rows, 25 components, custom_ids, labels, options, embeds."""
    message = exchange.message or {}
    rows = message.get("components") or []
    assert len(rows) <= 5 and len(components(exchange)) <= 25 + len(rows)
    for c in components(exchange):
        assert len(c.get("custom_id", "")) <= 100 and len(c.get("label") or "") <= 80
        assert len(c.get("options") or []) <= 25
        for o in c.get("options") or []:
            assert len(o["label"]) <= 100 and len(o.get("description") or "") <= 100
    embeds = message.get("embeds") or []
    assert len(embeds) <= 10 and all(len(e.get("description") or "") <= 4096 for e in embeds)
    assert all(len(f["value"]) <= 1024 for e in embeds for f in e.get("fields") or [])


# ---------------------------------------------------------------------------------------------- Stop


async def test_stop_frees_the_place_at_once_and_keeps_the_task(env: Env) -> None:
    await growing_tree(env)
    card, tid = await reply_card(env, env.alice)
    assert await reply_slots(env, env.bob) == 0  # alice's card holds the tree's last reply slot
    stopped = await env.sim.click(card.message, f"g:t:{tid}:stop", env.alice)
    assert stopped.kind == 7 and "Stopped" in stopped.text() and "free for others" in stopped.text()
    assert stopped.custom_ids() == [f"g:t:{tid}:resume"]
    assert await reply_slots(env, env.bob) == 1  # at once, not after the lease
    task = await task_of(env, env.alice, tid)
    assert task.status is TaskStatus.PENDING and task.lease_until == env.clock.now()  # still hers to resume

    again = await env.sim.click(stopped.message, f"g:t:{tid}:resume", env.alice)  # Continue
    assert again.kind == 7 and "Reply as the assistant" in again.text()
    assert await reply_slots(env, env.bob) == 0


# ---------------------------------------------------------------------------------------------- /task's offer


async def test_task_offers_open_tasks_first_resume_then_release(env: Env) -> None:
    await growing_tree(env)
    card, tid = await reply_card(env, env.alice)
    shown = await with_draft(env, env.alice, card, tid, "Water it from below, once a week.")
    await env.sim.click(shown.message, f"g:t:{tid}:stop", env.alice)
    env.clock.advance(60)

    offer = await env.sim.slash("task", env.alice)
    assert offer.kind == 4 and offer.ephemeral
    text = offer.text()
    task = await task_of(env, env.alice, tid)
    assert "Your open tasks" in text and "Reply as the assistant" in text and "📝 draft saved" in text
    assert f"<t:{int(task.expires_at or 0)}:R>" in text and "keep basil alive" in text  # what it is about
    assert offer.custom_ids() == [f"g:t:{tid}:resume", f"g:o:{tid}:release:any:en", "g:n:any:en"]
    assert_fits(offer)

    resumed = await env.sim.click(offer.message, f"g:t:{tid}:resume", env.alice)
    assert resumed.kind == 7 and resumed.message["id"] == offer.message["id"]  # the offer became the card
    assert "Reply as the assistant" in resumed.text() and "Continue writing" in str(resumed.message["components"])
    task = await task_of(env, env.alice, tid)
    assert task.lease_until == env.clock.now() + WRITE  # the place is hers again, for a full lease
    assert await reply_slots(env, env.bob) == 0
    opened = await env.sim.click(resumed.message, f"g:t:{tid}:write", env.alice)
    assert opened.modal["components"][0]["component"]["value"] == "Water it from below, once a week."

    offer = await env.sim.slash("task", env.alice, type="assistant_reply")
    assert f"g:o:{tid}:release:assistant_reply:en" in offer.custom_ids()
    released = await env.sim.click(offer.message, f"g:o:{tid}:release:assistant_reply:en", env.alice)
    assert released.kind == 7 and "Released" in released.text() and "You have no open tasks" in released.text()
    assert released.custom_ids() == ["g:n:assistant_reply:en"]  # New task is still offered
    assert "Water it from below, once a week." in "".join(m["embeds"][0]["description"] for m in released.created)
    task = await task_of(env, env.alice, tid)
    assert task.status is TaskStatus.CANCELLED
    assert await reply_slots(env, env.bob) == 1
    assert await reply_slots(env, env.alice) == 1  # no skip was counted: the tree can come back to her

    new = await env.sim.click(released.message, "g:n:assistant_reply:en", env.alice)
    assert new.kind == 7 and "Reply as the assistant" in new.text() and task_id_of(new) != tid


async def test_a_task_without_open_tasks_hands_out_at_once(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert "Write a prompt" in card.text() and "open tasks" not in card.text()


# ---------------------------------------------------------------------------------------------- /tasks


async def test_tasks_lists_picks_and_releases(env: Env) -> None:
    empty = await env.sim.slash("tasks", env.alice)
    assert empty.kind == 4 and empty.ephemeral and empty.text() == "You have no open tasks; `/task` gets you a new one."
    assert empty.custom_ids() == []

    engine, member = env.bot.engine, await env.member_id(env.alice)
    ids = []
    for _ in range(6):
        ids.append((await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)).id)
        env.clock.advance(1)
    await engine.save_draft(ids[2], member, f"A question about **kites** {'and wind ' * 40}")
    newest_first = ids[::-1]

    listing = await env.sim.slash("tasks", env.alice)
    assert_fits(listing)
    [select] = [c for c in components(listing) if c["type"] == 3]
    assert select["custom_id"] == "g:o:pick"
    assert [o["value"] for o in select["options"]] == newest_first
    assert [o["label"] for o in select["options"]][3] == "4. Write a prompt · en · draft"
    assert listing.custom_ids() == ["g:o:pick", f"g:t:{ids[5]}:resume", f"g:o:{ids[5]}:release"]  # no New task
    assert listing.text().count("Write a prompt") == 6 and listing.text().count("draft saved") == 1

    picked = await env.sim.click(listing.message, "g:o:pick", env.alice, values=[ids[2]])
    assert picked.kind == 7 and picked.custom_ids()[1:] == [f"g:t:{ids[2]}:resume", f"g:o:{ids[2]}:release"]
    labels = [c.get("label") for c in components(picked) if c["type"] == 2]
    assert labels == ["Resume 4", "Release 4"]

    released = await env.sim.click(picked.message, f"g:o:{ids[2]}:release", env.alice)
    assert "Released" in released.text() and (await task_of(env, env.alice, ids[2])).status is TaskStatus.CANCELLED
    assert "kites" in released.followup_messages[0]["embeds"][0]["description"]  # the draft, given back
    released = await env.sim.click(released.message, f"g:o:{ids[5]}:release", env.alice)
    # four left: a row of Resume and Release each, no select
    assert released.custom_ids() == [
        cid for tid in (ids[4], ids[3], ids[1], ids[0]) for cid in (f"g:t:{tid}:resume", f"g:o:{tid}:release")
    ]
    assert_fits(released)
    assert [t.id for t in await engine.open_tasks(member)] == [ids[4], ids[3], ids[1], ids[0]]


async def test_someone_else_cannot_release_or_resume(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    tid = task_id_of(card)
    listing = await env.sim.slash("tasks", env.alice)
    for cid in (f"g:o:{tid}:release", f"g:t:{tid}:resume"):
        refused = await env.sim.click(listing.message, cid, env.bob)
        assert refused.kind == 4 and "belongs to someone else" in refused.text()
    assert (await task_of(env, env.alice, tid)).status is TaskStatus.PENDING


# ---------------------------------------------------------------------------------------------- the place was taken


async def test_resume_of_a_task_whose_place_was_taken_gives_the_draft_back(env: Env) -> None:
    await growing_tree(env)
    card, tid = await reply_card(env, env.alice)
    draft = "Give it **six hours** of light and let the soil dry between waterings."
    shown = await with_draft(env, env.alice, card, tid, draft)
    await env.sim.click(shown.message, f"g:t:{tid}:stop", env.alice)
    await env.bot.engine.next_task(await env.member_id(env.bob), "en", TaskType.ASSISTANT_REPLY)  # bob takes it

    listing = await env.sim.slash("tasks", env.alice)
    refused = await env.sim.click(listing.message, f"g:t:{tid}:resume", env.alice)
    assert refused.kind == 4 and refused.ephemeral
    assert "Someone else took this task's place" in refused.text()
    assert f"```\n{draft}\n```" in refused.text()  # as typed, markdown and all, to copy
    assert refused.custom_ids() == [f"g:t:{tid}:resume", f"g:o:{tid}:release"]
    task = await task_of(env, env.alice, tid)
    assert task.status is TaskStatus.PENDING and task.draft == draft

    released = await env.sim.click(refused.message, f"g:o:{tid}:release", env.alice)
    assert "You have no open tasks" in released.text()
    assert (await task_of(env, env.alice, tid)).status is TaskStatus.CANCELLED


async def test_resume_after_the_task_expired_gives_the_draft_back(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    tid = task_id_of(card)
    await with_draft(env, env.alice, card, tid, "A draft that outlived its task.")
    listing = await env.sim.slash("tasks", env.alice)
    env.clock.advance(3 * 24 * 3600)
    refused = await env.sim.click(listing.message, f"g:t:{tid}:resume", env.alice)
    assert refused.kind == 4 and "expired" in refused.text() and "A draft that outlived its task." in refused.text()


@pytest.mark.parametrize(
    "custom_id",
    [
        "g:o:pick:x:en",
        "g:o:pick:any",
        "g:o:nonsense:release",
        "g:o:{task}:resume",
        "g:o:{task}:release:any:EN",
        "g:s:x",
    ],
)
async def test_forged_list_ids_are_answered_and_change_nothing(env: Env, custom_id: str) -> None:
    from cogs.tasks.items import STALE_BUTTON
    from tests.discord.test_discord_hostile import changes, snapshot

    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    before = snapshot(env)
    refused = await forged_click(env, card.message, custom_id.format(task=task_id_of(card)), env.alice)
    assert refused.kind == 4 and refused.ephemeral and STALE_BUTTON in refused.text()
    assert changes(before, snapshot(env)) == {}


async def test_a_late_submit_whose_place_was_taken_keeps_the_text(env: Env) -> None:
    await growing_tree(env)
    card, tid = await reply_card(env, env.alice)
    shown = await with_draft(env, env.alice, card, tid, "A late but careful answer.")
    env.clock.advance(WRITE + 1)  # the card sat idle past its lease
    await env.bot.engine.next_task(await env.member_id(env.bob), "en", TaskType.ASSISTANT_REPLY)
    refused = await env.sim.click(shown.message, f"g:t:{tid}:submit", env.alice)
    assert refused.kind == 4 and "someone else took its place" in refused.text()
    assert "A late but careful answer." in refused.text()
    assert (await task_of(env, env.alice, tid)).draft == "A late but careful answer."


# ------------------------------------------------------------------------------------ touching holds the place


async def test_opening_the_writing_form_extends_the_lease(env: Env) -> None:
    await growing_tree(env)
    card, tid = await reply_card(env, env.alice)
    assert (await task_of(env, env.alice, tid)).lease_until == env.clock.now() + WRITE
    env.clock.advance(15 * 60)
    opened = await env.sim.click(card.message, f"g:t:{tid}:write", env.alice)
    assert opened.kind == 9
    assert (await task_of(env, env.alice, tid)).lease_until == env.clock.now() + WRITE
    env.clock.advance(10 * 60)  # 25 minutes after the hand-out, 10 after opening the form
    assert await reply_slots(env, env.bob) == 0
    env.clock.advance(WRITE)
    assert await reply_slots(env, env.bob) == 1


async def test_review_form_and_paging_extend_the_lease(env: Env) -> None:
    configure(env, message_size_limit=8000, p_full_labeling_review_prompt=1.0)
    engine, dave = env.bot.engine, await env.member_id(env.dave)
    task = await engine.next_task(dave, "en", TaskType.INITIAL_PROMPT)
    await engine.submit_reply(task.id, dave, "Tell me about rivers. " * 300)  # 6,600 characters: two pages
    card = await env.sim.slash("task", env.alice, type="label_initial_prompt")
    tid = task_id_of(card)
    assert f"g:t:{tid}:page:0." in card.custom_ids()
    env.clock.advance(REVIEW - 30)
    paged = await env.sim.click(card.message, f"g:t:{tid}:page:0.", env.alice)
    assert paged.kind == 7 and (await task_of(env, env.alice, tid)).lease_until == env.clock.now() + REVIEW
    env.clock.advance(REVIEW - 30)
    opened = await env.sim.click(paged.message, f"g:t:{tid}:review", env.alice)
    assert opened.kind == 9 and (await task_of(env, env.alice, tid)).lease_until == env.clock.now() + REVIEW


async def test_rank_taps_undo_and_reset_extend_the_lease(env: Env) -> None:
    await ranking_tree(env)
    card, tid, _ = await rank_card(env, env.alice)
    step = card
    for cid in (f"g:t:{tid}:rank:B", f"g:t:{tid}:rank_undo", f"g:t:{tid}:rank:C", f"g:t:{tid}:rank_reset"):
        env.clock.advance(REVIEW - 10)  # each tap comes just before the lease would end
        step = await env.sim.click(step.message, cid, env.alice)
        assert step.kind == 7 and (await task_of(env, env.alice, tid)).lease_until == env.clock.now() + REVIEW


async def test_touching_a_finished_or_expired_task_is_a_plain_answer(env: Env) -> None:
    """Opening the form of a task that is done or expired is refused like any stale card; nothing is logged."""
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    tid = task_id_of(card)
    shown = await with_draft(env, env.alice, card, tid, "Which birds sing at night?")
    old_card = copy.deepcopy(shown.message)
    done = await env.sim.click(shown.message, f"g:t:{tid}:submit", env.alice)
    refused = await forged_click(env, old_card, f"g:t:{tid}:write", env.alice)  # the old card's button
    assert refused.kind == 4 and "already done" in refused.text()

    next_tid = task_id_of(done)  # continuous mode's next card, left alone past the task's life
    env.clock.advance(3 * 24 * 3600)
    for action in ("write", "page:0."):
        refused = await forged_click(env, done.message, f"g:t:{next_tid}:{action}", env.alice)
        assert refused.kind == 4 and "expired" in refused.text()
    card = await env.sim.slash("task", env.alice, type="initial_prompt")  # an expired task is not offered
    assert "Write a prompt" in card.text() and task_id_of(card) != next_tid


# ---------------------------------------------------------------------------------------------- rate limits


async def test_a_rate_limited_task_says_when_to_ask_again(env: Env) -> None:
    configure(env, task_requests_per_window=2, task_requests_window_sec=240)
    engine, member = env.bot.engine, await env.member_id(env.alice)
    first = env.clock.now()
    for _ in range(2):
        task = await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
        await engine.release_task(task.id, member, end=True)
        env.clock.advance(10)
    refused = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert refused.kind == 4 and refused.ephemeral
    again = f"<t:{int(first + 240)}:R>"
    assert refused.text() == f"⏳ You have asked for 2 tasks within 4 minutes. You can ask again {again}."
    env.clock.advance(240)
    assert "Write a prompt" in (await env.sim.slash("task", env.alice, type="initial_prompt")).text()


async def test_continuous_mode_and_new_task_when_rate_limited(env: Env) -> None:
    configure(env, task_requests_per_window=2, task_requests_window_sec=240)
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    tid = task_id_of(card)
    start = env.clock.now()
    shown = await with_draft(env, env.alice, card, tid, "What do owls eat?")
    env.clock.advance(5)
    done = await env.sim.click(shown.message, f"g:t:{tid}:submit", env.alice)  # the second request: a card
    tid = task_id_of(done)
    shown = await with_draft(env, env.alice, done, tid, "Why do cats purr?")
    done = await env.sim.click(shown.message, f"g:t:{tid}:submit", env.alice)  # the third: limited
    assert done.kind == 7 and "Saved" in done.text()
    assert f"You can ask again <t:{int(start + 240)}:R>." in done.text()
    assert (await task_of(env, env.alice, tid)).status is TaskStatus.DONE  # the submit itself was stored
    again = await env.sim.click(done.message, "g:n:initial_prompt:en", env.alice)  # "Same kind again", too soon
    assert again.kind == 4 and again.ephemeral and f"<t:{int(start + 240)}:R>" in again.text()


# ------------------------------------------------------------------------------------ report on a ranking card


async def test_report_on_a_ranking_card_reports_the_chosen_reply(env: Env) -> None:
    root = await ranking_tree(env)
    card, tid, shown = await rank_card(env, env.alice)
    which = await env.sim.click(card.message, f"g:t:{tid}:report", env.alice)
    assert which.kind == 4 and which.ephemeral and "Report which reply?" in which.text()
    assert_fits(which)
    [select] = [c for c in components(which) if c["type"] == 3]
    assert select["custom_id"] == f"g:s:{tid}:report"
    assert [(o["label"], o["value"]) for o in select["options"]] == [
        ("Reply A", "A"),
        ("Reply B", "B"),
        ("Reply C", "C"),
        ("The message they answer", "parent"),
    ]
    task = await task_of(env, env.alice, tid)
    assert select["options"][1]["description"] == task.candidates[1].text  # which one is which

    opened = await env.sim.click(which.message, f"g:s:{tid}:report", env.alice, values=["B"])
    assert opened.kind == 9 and opened.modal["custom_id"] == f"g:m:{tid}:report:B"
    assert opened.modal["title"] == "Report reply B"
    done = await env.sim.submit_modal(opened, env.alice, {"reason": "makes up a book that does not exist"})
    assert done.ephemeral and "Reported reply B" in done.text()
    flags = {m: (await env.bot.engine.message(m)).emojis.get("red_flag", 0) for m in [root, *shown]}
    assert flags == {root: 0, shown[0]: 0, shown[1]: 1, shown[2]: 0}  # the chosen reply, not the prompt

    # a report form that does not say which reply (a card from before this version): refused, reason given back
    stale = [{"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "reason", "value": "old form"}}]
    refused = await forged_submit(env, f"g:m:{tid}:report", env.alice, stale)
    assert refused.kind == 4 and "Say which reply" in refused.text() and "old form" in refused.text()
    forged = await forged_submit(env, f"g:m:{tid}:report:Z", env.alice, stale)
    assert forged.kind == 4 and "Say which reply" in forged.text()
    assert (await env.bot.engine.message(root)).emojis.get("red_flag", 0) == 0


# ---------------------------------------------------------------------------------------------- limits


def test_a_long_list_of_open_tasks_fits_discord() -> None:
    from cogs.i18n import Tr
    from cogs.tasks.resume import Scope, listing
    from engine.types import ConversationMessage, Role, Task

    long = "word " * 900
    tasks = [
        Task(
            f"{n:08x}-0000-4000-8000-" + "0" * 12,
            TaskType.LABEL_ASSISTANT_REPLY,
            1,
            "pt-br",
            TaskStatus.PENDING,
            0.0,
            1e10,
            target_id=f"m{n}",
            conversation=(ConversationMessage(f"m{n}", Role.ASSISTANT, long, "pt-br", 2),),
            draft=long,
        )
        for n in range(25)
    ]
    for scope in (Scope(), Scope("rank_assistant_replies", "zh-hant-tw")):
        embed, view = listing(Tr(), tasks, scope, notice="🗑️ Released “Review an assistant's reply”.")
        assert len(embed.description or "") <= 4096 and len(embed) <= 6000
        assert len(view.children) <= 25 and max(item._rendered_row or 0 for item in view.children) <= 4
        rows = view.to_components()
        assert len(rows) <= 5
        for item in view.children:
            assert len(getattr(item, "custom_id", "")) <= 100
            for o in getattr(item, "options", []):
                assert len(o.label) <= 100 and len(o.description or "") <= 100


async def test_a_task_is_one_unit_of_work_once_the_member_is_known(env: Env, monkeypatch) -> None:
    """Issue 19: `/task` asks the database once, whether it offers open tasks or hands out a new one (the member's
    id, interface and task languages are known in process after their first request)."""
    first = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = first.custom_ids()[0].split(":")[2]
    await env.bot.engine.release_task(task_id, await env.member_id(env.alice), end=True)
    units: list[bool] = []
    run = env.bot.db.run

    async def counted(unit, *, write: bool = True, durable: bool = True):
        units.append(write)
        return await run(unit, write=write, durable=durable)

    monkeypatch.setattr(env.bot.db, "run", counted)
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert "fields" in card.message["embeds"][0] and units == [True]
    units.clear()
    offer = await env.sim.slash("task", env.alice, type="initial_prompt")  # she holds that task now: it is offered
    assert "open tasks" in offer.text() and units == [True]

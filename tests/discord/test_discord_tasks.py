"""The writing flow through the fake Discord: /task → card → Write → modal → preview → Submit → stored → next card."""

from __future__ import annotations

import copy

from engine.types import TaskStatus
from tests.discord_env import Env
from tests.fakes import payloads


def ids(exchange) -> list[str]:
    return exchange.custom_ids()


def button(exchange, action: str) -> str:
    return next(c for c in ids(exchange) if c.split(":")[3] == action)


async def test_write_a_prompt_end_to_end(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert card.kind == 4 and card.ephemeral
    assert "Write a prompt" in card.text()
    task_id = card.custom_ids()[0].split(":")[2]
    assert card.custom_ids()[0] == f"g:t:{task_id}:write"

    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    assert opened.kind == 9 and opened.modal["custom_id"] == f"g:m:{task_id}:write"

    preview = await env.sim.submit_modal(opened, env.alice, {"text": "What makes bread rise?"})
    assert preview.kind == 7
    assert "What makes bread rise?" in preview.text() and "Preview" in preview.text()
    member = await env.member_id(env.alice)
    assert (await env.bot.engine.get_task(task_id, member)).draft == "What makes bread rise?"

    done = await env.sim.click(preview.message, f"g:t:{task_id}:submit", env.alice)
    assert done.kind == 7
    task = await env.bot.engine.get_task(task_id, member)
    assert task.status is TaskStatus.DONE
    assert "Saved" in done.text()


async def write_card(env: Env, person, task_type: str = "initial_prompt"):
    card = await env.sim.slash("task", person, type=task_type)
    assert card.kind == 4, card.text()
    return card, card.custom_ids()[0].split(":")[2]


async def preview(env: Env, person, card, task_id: str, text: str):
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", person)
    return await env.sim.submit_modal(opened, person, {"text": text})


async def test_continuous_mode_turns_the_card_into_the_next_task(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "Explain tides to a child.")
    done = await env.sim.click(shown.message, f"g:t:{task_id}:submit", env.alice)
    assert done.message["id"] == card.message["id"]  # the same card, now the next prompt task
    next_ids = done.custom_ids()
    assert next_ids[0].endswith(":write") and task_id not in next_ids[0]
    assert any(c.endswith(":stop") for c in next_ids)
    stopped = await env.sim.click(done.message, next(c for c in next_ids if c.endswith(":stop")), env.alice)
    assert "Stopped" in stopped.text() and stopped.custom_ids()[0].endswith(":resume")  # Continue retakes its place


async def test_the_written_message_is_stored_in_a_new_tree(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "  Why is the sky blue?  ")
    await env.sim.click(shown.message, f"g:t:{task_id}:submit", env.alice)
    counts = await env.bot.engine.tree_counts("en")
    assert counts.get("initial_prompt_review") == 1
    async with env.bot.db.read() as repo:
        [message] = await repo.messages_of_user(await env.member_id(env.alice))
    assert message.text == "Why is the sky blue?"


async def test_a_card_still_works_after_a_restart(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "A draft typed before the restart")
    await env.restart()
    done = await env.sim.click(shown.message, f"g:t:{task_id}:submit", env.alice)
    assert "Saved" in done.text()
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.status is TaskStatus.DONE


async def test_a_modal_opened_before_a_restart_is_still_accepted(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    await env.restart()
    shown = await env.sim.submit_modal(opened, env.alice, {"text": "typed while the bot restarted"})
    assert shown.kind == 7 and "typed while the bot restarted" in shown.text()


async def test_someone_else_cannot_use_a_card(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "alice's words")
    for action in ("submit", "write:preview", "skip"):
        refused = await env.sim.click(shown.message, f"g:t:{task_id}:{action}", env.bob)
        assert refused.kind == 4 and refused.ephemeral
        assert "belongs to someone else" in refused.text()
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.status is TaskStatus.PENDING and task.draft == "alice's words"
    assert env.fake.message(shown.message["id"])["embeds"] == shown.message["embeds"]  # the card is untouched


async def test_a_double_submit_stores_one_message(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "only once please")
    clicks = [  # two clicks on the same card before it changes
        payloads.component(
            copy.deepcopy(shown.message),
            f"g:t:{task_id}:submit",
            env.alice,
            component_type=2,
            interaction_id=env.fake.snowflake(),
            guild_id=payloads.GUILD_ID,
            channel_id=env.channels["general"],
        )
        for _ in range(2)
    ]
    for click in clicks:
        env.fake.register_interaction(click)
        env.bot._connection.parse_interaction_create(click)
    await env.sim.settle()
    answers = sorted(env.fake.callbacks[int(c["id"])].json["type"] for c in clicks)
    assert answers == [4, 7]  # one card update (saved, next task) and one ephemeral refusal
    refusal = next(
        env.fake.callbacks[int(c["id"])] for c in clicks if env.fake.callbacks[int(c["id"])].json["type"] == 4
    )
    assert "already done" in refusal.json["data"]["content"]
    async with env.bot.db.read() as repo:
        assert len(await repo.messages_of_user(await env.member_id(env.alice))) == 1


async def test_a_duplicate_is_refused_and_the_text_given_back(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "Same words twice")
    await env.sim.click(shown.message, f"g:t:{task_id}:submit", env.alice)
    offer = await env.sim.slash("task", env.alice, type="initial_prompt")  # continuous mode left her a task
    card2 = await env.sim.click(offer.message, "g:n:initial_prompt:en", env.alice)  # New task
    task2 = card2.custom_ids()[0].split(":")[2]
    shown2 = await preview(env, env.alice, card2, task2, "Same words twice")
    refused = await env.sim.click(shown2.message, f"g:t:{task2}:submit", env.alice)
    assert refused.ephemeral and "Your text (nothing was lost)" in refused.text()
    assert "Same words twice" in refused.text()
    task = await env.bot.engine.get_task(task2, await env.member_id(env.alice))
    assert task.status is TaskStatus.PENDING and task.draft == "Same words twice"


async def test_blank_text_is_refused_with_the_text_given_back(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    refused = await preview(env, env.alice, card, task_id, "   \n  ")
    assert refused.kind == 4 and refused.ephemeral and "empty" in refused.text().lower()


async def test_too_long_text_from_a_forged_payload_is_refused_and_kept(env: Env) -> None:
    _, task_id = await write_card(env, env.alice)
    text = "x" * 5000
    components = [{"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "text", "value": text}}]
    payload = payloads.modal_submit(
        f"g:m:{task_id}:write",
        env.alice,
        components,
        interaction_id=env.fake.snowflake(),
        guild_id=payloads.GUILD_ID,
        channel_id=env.channels["general"],
    )
    refused = await env.sim.dispatch(payload)
    assert refused.ephemeral and "5,000 characters" in refused.text()  # numbers in the member's locale
    assert [f for c in refused.calls for f in c.files]  # too long for an embed: given back as a file
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.draft == text and task.status is TaskStatus.PENDING


async def test_an_expired_task_says_so_and_keeps_the_text(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    env.clock.advance(3 * 24 * 3600)
    refused = await env.sim.submit_modal(opened, env.alice, {"text": "late but not lost"})
    assert refused.ephemeral and "expired" in refused.text()
    assert "late but not lost" in refused.text()


async def test_skip_without_a_draft_needs_no_confirmation(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    skipped = await env.sim.click(card.message, f"g:t:{task_id}:skip", env.alice)
    assert "Skipped" in skipped.text()
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.status is TaskStatus.SKIPPED


async def test_skip_with_a_draft_asks_first(env: Env) -> None:
    card, task_id = await write_card(env, env.alice)
    shown = await preview(env, env.alice, card, task_id, "a draft worth keeping")
    asked = await env.sim.click(shown.message, f"g:t:{task_id}:skip", env.alice)
    assert "Skip this task?" in asked.text()
    assert (await env.bot.engine.get_task(task_id, await env.member_id(env.alice))).status is TaskStatus.PENDING
    back = await env.sim.click(asked.message, f"g:t:{task_id}:show", env.alice)
    assert "Continue writing" in str(back.message["components"])
    asked = await env.sim.click(back.message, f"g:t:{task_id}:skip", env.alice)
    await env.sim.click(asked.message, f"g:t:{task_id}:skip:sure", env.alice)
    assert (await env.bot.engine.get_task(task_id, await env.member_id(env.alice))).status is TaskStatus.SKIPPED


def test_long_conversations_are_paged_not_truncated() -> None:
    from cogs.i18n import Tr
    from cogs.tasks.cards import render
    from cogs.tasks.parts import install
    from engine.types import ConversationMessage, Role, Task, TaskType

    install()  # what the Tasks cog does when it loads: cards know how to draw each family

    texts = [f"{n}:" + "abcdefghij" * 399 for n in range(4)]  # 4 turns of ~4000 characters
    conversation = tuple(
        ConversationMessage(f"m{n}", Role.PROMPTER if n % 2 == 0 else Role.ASSISTANT, t, "en", 1)
        for n, t in enumerate(texts)
    )
    task = Task(
        "0" * 8 + "-0000-4000-8000-" + "0" * 12,
        TaskType.ASSISTANT_REPLY,
        1,
        "en",
        TaskStatus.PENDING,
        0.0,
        100.0,
        conversation=conversation,
    )
    first = render(task, Tr())
    shown = []
    for page in range(first.pages):
        card = render(task, Tr(), page=page)
        assert sum(len(e) for e in card.embeds) <= 6000 and len(card.embeds) <= 10
        assert all(len(e.description or "") <= 4096 for e in card.embeds)
        shown += [e.description for e in card.embeds[1:]]
        ids = [item.custom_id for item in card.view.children]
        assert len(ids) == len(set(ids)) and all(len(i) <= 100 for i in ids)
    assert "".join(shown) == "".join(texts)  # every character, in order, nothing cut
    assert first.page == first.pages - 1  # the card opens on the last turn


async def test_report_and_guidelines_from_a_card(env: Env) -> None:
    from tests.driver import Driver

    members = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave)]
    d = Driver(env.bot.engine, env.clock, members)
    prompt = await d.write_prompt(members[0])
    card = await env.sim.slash("task", env.bob, type="label_initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    guide = await env.sim.click(card.message, f"g:t:{task_id}:guide", env.bob)
    assert guide.ephemeral and "Reviewing a prompt" in guide.text()
    opened = await env.sim.click(card.message, f"g:t:{task_id}:report", env.bob)
    assert opened.kind == 9
    done = await env.sim.submit_modal(opened, env.bob, {"reason": "asks for someone's address"})
    assert done.ephemeral and "Reported" in done.text()
    assert (await env.bot.engine.message(prompt)).emojis.get("red_flag") == 1  # a report flags the message

"""The writing flow through the fake Discord: /task → card → Write → modal → preview → Submit → stored → next card."""

from __future__ import annotations

from engine.types import TaskStatus, TaskType
from tests.discord_env import Env


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

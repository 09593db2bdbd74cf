"""Server configuration, language channels, permissions, the command surface and the scheduled jobs."""

from __future__ import annotations

import datetime as dt
import re

import discord
import pytest
from discord import app_commands

from bot.config import SchedulerSettings
from cogs.tasks.items import BUTTON, MODAL
from engine.types import TaskStatus, TaskType, TreeState
from tests.discord_env import Env
from tests.driver import Driver


async def test_a_language_channel_decides_the_language_of_task(env: Env) -> None:
    de = env.channels["de"]
    set_ = await env.sim.slash("config", env.admin, sub=("language-channel", "set"), channel=de, language="DE")
    assert "**de**" in set_.text() and set_.ephemeral
    card = await env.sim.slash("task", env.alice, type="initial_prompt", channel_id=de)
    assert "Language\nde" in card.text() or "de" in card.message["embeds"][0]["fields"][0]["value"]
    task_id = card.custom_ids()[0].split(":")[2]
    assert (await env.bot.engine.get_task(task_id, await env.member_id(env.alice))).lang == "de"
    # alice holds that task now, so /task offers it first; its New task asks in the language /task chose
    offer = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert "Your open tasks" in offer.text()
    elsewhere = await env.sim.click(offer.message, "g:n:initial_prompt:en", env.alice)
    assert elsewhere.message["embeds"][0]["fields"][0]["value"] == "en"
    refused = await env.sim.slash("task", env.alice, type="initial_prompt", language="fr", channel_id=de)
    assert refused.ephemeral and "not enabled here" in refused.text()  # issue 18: no language an admin did not enable
    await env.sim.slash("config", env.admin, sub=("language", "add"), language="fr")
    offer = await env.sim.slash("task", env.alice, type="initial_prompt", language="fr", channel_id=de)
    explicit = await env.sim.click(offer.message, "g:n:initial_prompt:fr", env.alice)
    assert explicit.message["embeds"][0]["fields"][0]["value"] == "fr"


async def test_the_default_language_and_the_members_preference(env: Env) -> None:
    await env.sim.slash("config", env.admin, sub="default-language", language="es")
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert card.message["embeds"][0]["fields"][0]["value"] == "es"
    await env.sim.slash("language task", env.bob, code="pt-BR")
    card = await env.sim.slash("task", env.bob, type="initial_prompt")
    assert card.message["embeds"][0]["fields"][0]["value"] == "es"  # pt-BR is not enabled here: passed over
    await env.sim.slash("config", env.admin, sub=("language", "add"), language="pt-BR")
    card = await env.sim.slash("task", env.carol, type="initial_prompt")
    assert card.message["embeds"][0]["fields"][0]["value"] == "es"
    await env.sim.slash("language task", env.dave, code="pt-BR")
    card = await env.sim.slash("task", env.dave, type="initial_prompt")
    assert card.message["embeds"][0]["fields"][0]["value"] == "pt-br"


@pytest.mark.parametrize(
    "sub, options",
    [
        (("language-channel", "set"), {"channel": "de", "language": "de"}),
        (("language-channel", "remove"), {"channel": "de"}),
        (("language-channel", "list"), {}),
        ("moderator-role", {}),
        ("feed-channel", {"channel": "feed"}),
        ("mod-queue-channel", {"channel": "queue"}),
        ("default-language", {"language": "de"}),
        ("show", {}),
    ],
)
async def test_admin_commands_are_refused_to_members_and_moderators(env: Env, sub, options) -> None:
    opts = {k: env.channels[v] if k == "channel" else v for k, v in options.items()}
    before = await env.bot.settings.get(env.sim.guild_id)
    for person in (env.alice, env.mod):
        refused = await env.sim.slash("config", person, sub=sub, **opts)
        assert refused.ephemeral and "Only server admins" in refused.text()
    assert await env.bot.settings.get(env.sim.guild_id) == before


async def test_admin_settings_are_stored_and_shown(env: Env) -> None:
    await env.sim.slash("config", env.admin, sub="feed-channel", channel=env.channels["feed"])
    await env.sim.slash("config", env.admin, sub="mod-queue-channel", channel=env.channels["queue"])
    await env.sim.slash("config", env.admin, sub=("language-channel", "set"), channel=env.channels["fr"], language="fr")
    shown = await env.sim.slash("config", env.admin, sub="show")
    text = shown.text()
    assert f"<#{env.channels['feed']}>" in text and f"<#{env.channels['queue']}>" in text and "**fr**" in text
    config = await env.bot.settings.get(env.sim.guild_id)
    assert config.feed_channel_id == env.channels["feed"] and config.language_channels == {env.channels["fr"]: "fr"}
    await env.restart()
    assert (await env.bot.settings.get(env.sim.guild_id)) == config
    removed = await env.sim.slash("config", env.admin, sub=("language-channel", "remove"), channel=env.channels["fr"])
    assert "no longer has a language" in removed.text()
    again = await env.sim.slash("config", env.admin, sub=("language-channel", "remove"), channel=env.channels["fr"])
    assert "has no language set" in again.text()


async def test_a_bad_language_code_is_explained(env: Env) -> None:
    refused = await env.sim.slash("task", env.alice, language="not a language")
    assert refused.ephemeral and "not a language code" in refused.text()
    refused = await env.sim.slash("config", env.admin, sub="default-language", language="x1")
    assert "not a language code" in refused.text()


async def test_config_is_hidden_from_members_by_default_permissions(env: Env) -> None:
    payload = env.bot.tree.get_command("config").to_dict(env.bot.tree)
    assert int(payload["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
    assert payload.get("contexts") == [0]


async def test_task_autocomplete_shows_counts(env: Env) -> None:
    choices = await env.sim.autocomplete("task", env.alice, "type")
    names = {c["value"]: c["name"] for c in choices}
    assert set(names) == {"random", *(t.value for t in TaskType)}
    counts = {value: int(re.search(r"\((\d+) available\)$", name)[1]) for value, name in names.items()}
    member = await env.member_id(env.alice)
    expected = (await env.bot.engine.availability(member, "en")).counts
    assert counts == {"random": sum(expected.values()), **{t.value: n for t, n in expected.items()}}
    assert counts["initial_prompt"] > 0


async def test_status_explains_why_nothing_is_available(env: Env) -> None:
    members = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave)]
    d = Driver(env.bot.engine, env.clock, members)
    await d.write_prompt(members[0])
    status = await env.sim.slash("status", env.alice)
    assert status.kind == 5  # deferred: the chart takes a moment
    assert "1 prompt waits for reviews" in status.text()
    [png] = [data for call in status.calls for name, data in call.files if name == "trees.png"]
    assert png.startswith(b"\x89PNG")


async def test_help_shows_each_role_what_it_may_do(env: Env) -> None:
    member = (await env.sim.slash("help", env.alice)).text()
    mod = (await env.sim.slash("help", env.mod)).text()
    admin = (await env.sim.slash("help", env.admin)).text()
    assert "/task" in member and "/mod" not in member and "/config" not in member
    assert "/mod" in mod and "/config" not in mod
    assert "/mod" in admin and "/config" in admin


# ---------------------------------------------------------------------- the command surface (meta)


def walk(commands):
    for command in commands:
        yield command
        if isinstance(command, app_commands.Group):
            yield from walk(command.commands)


async def test_commands_are_unique_and_within_discords_limits(env: Env) -> None:
    top = env.bot.tree.get_commands()
    assert len({c.name for c in top}) == len(top) <= 100
    for command in walk(top):
        assert 1 <= len(command.name) <= 32 and command.name == command.name.lower()
        assert 1 <= len(command.description) <= 100
        if isinstance(command, app_commands.Group):
            names = [c.name for c in command.commands]
            assert len(names) == len(set(names)) <= 25
        else:
            assert len(command.parameters) <= 25
            for p in command.parameters:
                assert len(p.name) <= 32 and len(p.description) <= 100
                assert len(p.choices) <= 25
    payload = [c.to_dict(env.bot.tree) for c in top]
    assert len(str(payload)) < 8000 * len(top)


async def test_every_custom_id_and_modal_fits(env: Env) -> None:
    from cogs.tasks.reporting import ReportModal
    from cogs.tasks.writing import WriteModal
    from engine.types import Task

    task = Task("f" * 8 + "-ffff-4fff-bfff-" + "f" * 12, TaskType.ASSISTANT_REPLY, 1, "en", TaskStatus.PENDING, 0, 1)
    reports = (ReportModal(task.id), ReportModal(task.id, "J"), ReportModal(task.id, "parent"))
    for modal in (WriteModal(task, 2000), *reports):
        data = modal.to_dict()
        assert len(data["components"]) <= 5 and len(data["custom_id"]) <= 100 and len(data["title"]) <= 45
        assert MODAL.fullmatch(data["custom_id"])
    longest = f"g:t:{task.id}:" + "x" * 12 + ":" + "y" * 40
    assert BUTTON.fullmatch(longest) and len(longest) <= 100
    assert not BUTTON.fullmatch(longest + "y") and not BUTTON.fullmatch(f"g:t:{task.id}:" + "x" * 13)
    seen = env.fake.calls
    assert all(len(c["custom_id"]) <= 100 for call in seen if call.json for c in _components(call.json))


def _components(data):
    stack = list((data.get("data") or data).get("components") or [])
    while stack:
        c = stack.pop()
        if "custom_id" in c:
            yield c
        stack.extend(c.get("components") or [])
        if isinstance(c.get("component"), dict):
            stack.append(c["component"])


# ---------------------------------------------------------------------- scheduled jobs


async def test_jobs_are_registered_at_start_up_with_the_configured_intervals(env: Env) -> None:
    settings = SchedulerSettings()
    jobs = {job.id: job for job in env.bot.scheduler.get_jobs()}
    expected = {
        "prompt-lottery": settings.prompt_lottery,
        "auto-moderation": settings.auto_moderation,
        "task-expiry": settings.task_expiry,
        "scoring-retry": settings.scoring_retry,
        "backlog-activation": settings.backlog_activation,
        "halt-banned-prompts": settings.halt_banned_prompts,
        "reconcile": settings.reconcile,
        "streak-reset": settings.streak_reset,
        "leaderboard-day": 5,
        "leaderboard-week": 15,
        "leaderboard-month": 60,
        "leaderboard-total": 240,
        "notifications": settings.notifications,
    }
    assert set(jobs) == set(expected)
    for job_id, minutes in expected.items():
        assert jobs[job_id].trigger.interval == dt.timedelta(minutes=minutes)
        assert jobs[job_id].misfire_grace_time == settings.misfire_grace_seconds
    assert env.bot.scheduler.running


async def run_job(env: Env, job_id: str):
    [job] = [j for j in env.bot.jobs if j.id == job_id]
    return await job.run()


async def test_each_job_does_its_work(env: Env) -> None:
    engine = env.bot.engine
    members = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave, env.erin)]
    d = Driver(engine, env.clock, members)
    # the lottery moves an accepted prompt into growing
    tree = await d.accepted_prompt(members[0])
    assert (await engine.tree_status(tree)).state is TreeState.PROMPT_LOTTERY_WAITING
    assert await run_job(env, "prompt-lottery") == 1
    assert (await engine.tree_status(tree)).state is TreeState.GROWING
    assert await run_job(env, "prompt-lottery") == 0  # idempotent
    # expiry marks old tasks expired
    task = await engine.next_task(members[1], "en", TaskType.ASSISTANT_REPLY)
    env.clock.advance(3 * 24 * 3600)
    assert await run_job(env, "task-expiry") >= 1
    assert (await engine.get_task(task.id, members[1])).status is TaskStatus.EXPIRED
    assert await run_job(env, "task-expiry") == 0
    # auto-moderation acts on red flags
    for m in members[1:]:
        await engine.react(m, tree, "red_flag", "add")
    await run_job(env, "auto-moderation")
    assert (await engine.tree_status(tree)).state is TreeState.ABORTED_LOW_GRADE
    # waiting prompts of members disabled outside a ban (e.g. by an older version) are halted
    waiting = await d.accepted_prompt(members[2])
    async with env.bot.db.transaction() as repo:
        await repo.set_user_enabled(members[2], False)
    assert await run_job(env, "halt-banned-prompts") == 1
    assert await run_job(env, "halt-banned-prompts") == 0
    assert (await engine.tree_status(waiting)).state is TreeState.HALTED_BY_MODERATOR
    # the leaderboards and streaks
    assert await run_job(env, "leaderboard-total") >= 1
    assert (await env.bot.stats.member(members[0], "total")).rank is not None
    env.clock.advance(2 * 24 * 3600)
    assert await run_job(env, "streak-reset") >= 1
    assert await run_job(env, "scoring-retry") == 0
    assert await run_job(env, "backlog-activation") == 0


async def test_admins_export_the_dataset_from_discord(env: Env) -> None:
    import gzip
    import json

    members = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave, env.erin)]
    d = Driver(env.bot.engine, env.clock, members)
    await d.accepted_prompt(members[0])
    refused = await env.sim.slash("config", env.alice, sub="export")
    assert "Only server admins" in refused.text()
    done = await env.sim.slash("config", env.admin, sub="export", everything=True)
    assert done.kind == 5 and "Exported 1 tree" in done.text()
    [(name, data)] = [f for call in done.calls for f in call.files]
    assert name.endswith(".jsonl.gz")
    [tree] = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    assert tree["prompt"]["text"].startswith("prompt")
    finished_only = await env.sim.slash("config", env.admin, sub="export")
    assert "Exported 0 trees" in finished_only.text()


async def test_one_export_at_a_time_and_no_copy_left_behind(env: Env) -> None:
    """Issue 18: /config export had no concurrency limit (a flood reached 18.5 GB) and never deleted its files.
    While one export runs, another is told to retry; an attached export leaves no file on the server."""
    from cogs.admin.cog import EXPORTING

    folder = env.path.resolve().parent / "exports"
    with EXPORTING:  # an export running (from any server)
        busy = await env.sim.slash("config", env.admin, sub="export", everything=True)
    assert busy.ephemeral and "Another export is running" in busy.text()
    assert not [f for call in busy.calls for f in call.files]
    done = await env.sim.slash("config", env.admin, sub="export", everything=True)
    assert "Exported" in done.text() and [f for call in done.calls for f in call.files]
    assert not list(folder.iterdir())  # sent, then deleted


async def test_the_preferred_language_is_kept_in_process_and_follows_a_change(env: Env, monkeypatch) -> None:
    """`/task` learns the member's preferred language once (no read of their row per request); `/language task`
    changes it at once, and a restarted bot reads it from the database."""
    await env.sim.slash("config", env.admin, sub=("language", "add"), language="pt-BR")

    async def skip(card) -> None:  # the next /task then hands out anew instead of offering open tasks
        member = await env.member_id(env.dave)
        for task in await env.bot.engine.open_tasks(member):
            await env.bot.engine.release_task(task.id, member, end=True)

    card = await env.sim.slash("task", env.dave, type="initial_prompt")  # no preference yet: the server's default
    assert card.message["embeds"][0]["fields"][0]["value"] == "en"
    await skip(card)
    await env.sim.slash("language task", env.dave, code="pt-BR")
    reads: list[int] = []
    user = env.bot.engine.user

    async def counted(user_id: int):
        reads.append(user_id)
        return await user(user_id)

    monkeypatch.setattr(env.bot.engine, "user", counted)
    for _ in range(2):
        card = await env.sim.slash("task", env.dave, type="initial_prompt")
        assert card.message["embeds"][0]["fields"][0]["value"] == "pt-br"
        await skip(card)
    assert reads == [], "a /task read the member's row for their language"
    await env.restart()
    card = await env.sim.slash("task", env.dave, type="initial_prompt")
    assert card.message["embeds"][0]["fields"][0]["value"] == "pt-br"

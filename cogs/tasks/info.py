"""What /status, /help and /language show, as pure functions of the member's language."""

from __future__ import annotations

from collections.abc import Mapping

import discord

from cogs.i18n import LOCALES, SOURCE, Tr, tr_in
from cogs.tasks.cards import type_title
from engine.types import Availability, TreeState


def trees_in(tr: Tr, state: TreeState, count: int) -> str:
    """How many trees are in a state, as a sentence ("3 trees wait for rankings")."""
    # Each state has its own sentence so that every language can say it in its own words (and plurals).
    if state is TreeState.INITIAL_PROMPT_REVIEW:
        return tr.plural("{count} prompt waits for reviews", "{count} prompts wait for reviews", count)
    if state is TreeState.PROMPT_LOTTERY_WAITING:
        return tr.plural(
            "{count} accepted prompt waits for the lottery", "{count} accepted prompts wait for the lottery", count
        )
    if state is TreeState.GROWING:
        return tr.plural(
            "{count} tree is growing (it needs replies and reviews)",
            "{count} trees are growing (they need replies and reviews)",
            count,
        )
    if state is TreeState.RANKING:
        return tr.plural("{count} tree waits for rankings", "{count} trees wait for rankings", count)
    if state is TreeState.READY_FOR_SCORING:
        return tr.plural("{count} tree waits to be scored", "{count} trees wait to be scored", count)
    if state is TreeState.READY_FOR_EXPORT:
        return tr.plural("{count} tree is finished and exported", "{count} trees are finished and exported", count)
    if state is TreeState.SCORING_FAILED:
        return tr.plural(
            "{count} tree failed scoring (retried automatically)",
            "{count} trees failed scoring (retried automatically)",
            count,
        )
    if state is TreeState.ABORTED_LOW_GRADE:
        return tr.plural(
            "{count} prompt was rejected by reviewers", "{count} prompts were rejected by reviewers", count
        )
    if state is TreeState.HALTED_BY_MODERATOR:
        return tr.plural("{count} tree is halted by moderators", "{count} trees are halted by moderators", count)
    return tr.plural("{count} imported tree waits in the backlog", "{count} imported trees wait in the backlog", count)


def why_nothing(tr: Tr, counts: Mapping[TreeState, int]) -> str:
    c = {TreeState(k): v for k, v in counts.items()}
    reasons = []
    if n := c.get(TreeState.INITIAL_PROMPT_REVIEW):
        reasons.append(
            tr.plural("{count} prompt waits for reviews by others", "{count} prompts wait for reviews by others", n)
        )
    if n := c.get(TreeState.GROWING):
        reasons.append(
            tr.plural(
                "{count} growing tree has no free slot for you (or only your own messages)",
                "{count} growing trees have no free slot for you (or only your own messages)",
                n,
            )
        )
    if n := c.get(TreeState.RANKING):
        reasons.append(
            tr.plural(
                "{count} tree waits for rankings you already gave or cannot give",
                "{count} trees wait for rankings you already gave or cannot give",
                n,
            )
        )
    if not reasons:
        reasons.append(tr("there is no open work in this language"))
    # Translators: {reasons} is a list of the reasons above, joined by "; "
    return tr("{reasons}. Try again later or another language.", reasons="; ".join(reasons))


def status_embed(tr: Tr, lang: str, availability: Availability, counts: Mapping[TreeState, int]) -> discord.Embed:
    embed = discord.Embed(title=tr("Status · {language}", language=lang), colour=discord.Colour.blurple())
    lines = [f"**{type_title(tr, t)}**: {tr.number(n)}" for t, n in availability.counts.items() if n]
    embed.add_field(
        name=tr("Tasks for you now"),
        value="\n".join(lines) or tr("Nothing right now — see why below."),
        inline=False,
    )
    trees = [trees_in(tr, TreeState(s), n) for s, n in counts.items() if n]
    empty = tr("No trees in {language} yet: write the first prompt!", language=lang)
    embed.add_field(name=tr("Trees"), value="\n".join(trees) or empty)
    if not availability.total:
        embed.add_field(name=tr("Why nothing?"), value=why_nothing(tr, counts), inline=False)
    return embed


def help_embed(tr: Tr, *, moderator: bool, admin: bool) -> discord.Embed:
    def cmd(path: str) -> str:
        return f"`{tr.command(path)}`"

    embed = discord.Embed(
        title="🌳 Grove",
        description=tr(
            "Grove grows a dataset of conversations for training assistants. Write prompts, answer as the "
            "assistant or the user, review messages and rank answers; finished trees are exported openly."
        ),
        colour=discord.Colour.green(),
    )
    embed.add_field(
        name=tr("Everyone"),
        value=tr(
            "{task} get a task · {tasks} your unfinished ones · {status} what is available\n"
            "{language_task} the language of your tasks · {language_ui} the language Grove speaks to you\n"
            "{guidelines} how to do it well · {stats} · {leaderboard} · {privacy} · {help} this page\n"
            "A card you leave alone keeps your draft, but after a few minutes its place goes to others; "
            "**Stop** gives it back at once. {tasks} picks it up again.",
            task=cmd("task"),
            tasks=cmd("tasks"),
            status=cmd("status"),
            language_task=cmd("language task"),
            language_ui=cmd("language ui"),
            guidelines=cmd("guidelines"),
            stats=cmd("stats"),
            leaderboard=cmd("leaderboard"),
            privacy=cmd("privacy"),
            help=cmd("help"),
        ),
        inline=False,
    )
    if moderator:

        def pair(first: str, second: str, option: str) -> str:
            other = tr.command(f"mod {second}").split()[-1]
            return f"`{tr.command(f'mod {first}')}|{other} <{tr.option(option)}>`"

        embed.add_field(
            name=tr("Moderators"),
            value=tr(
                "{halt_resume} · {delete_restore} · {ban_unban}\n"
                "In the feed: ⛔ halts the tree, 🗑️ deletes the message, ✅ clears flags or restores.",
                halt_resume=pair("halt", "resume", "tree"),
                delete_restore=pair("delete", "restore", "message"),
                ban_unban=pair("ban", "unban", "member"),
            ),
            inline=False,
        )
    if admin:
        sets = "|".join(tr.command(f"config language-channel {s}").split()[-1] for s in ("set", "remove", "list"))
        commands = [
            f"`{tr.command('config language-channel')} {sets}`",
            *(cmd(f"config {c}") for c in ("moderator-role", "feed-channel", "mod-queue-channel")),
            *(cmd(f"config {c}") for c in ("default-language", "show", "export")),
        ]
        embed.add_field(name=tr("Admins"), value=" · ".join(commands), inline=False)
    return embed


def language_name(locale: str) -> str:
    """An interface language in its own words ("Deutsch", "日本語"): how it is offered in `/language ui`."""
    return tr_in(locale).language(locale.split("-")[0] if locale == SOURCE else locale)


def interface_languages(tr: Tr, chosen: str | None, client: str) -> str:
    """`/language ui` without a code: the language Grove speaks to the member, why, and the others."""
    current = f"**{language_name(tr.locale)}**"
    if chosen:
        head = tr("Grove speaks to you in {language}: your choice.", language=current)
    elif client == tr.locale:
        head = tr("Grove speaks to you in {language}, the language of your Discord app.", language=current)
    else:
        head = tr(
            "Grove speaks to you in {language}; it has no catalog for your Discord app's language.", language=current
        )
    others = " · ".join(f"{language_name(code)} (`{code}`)" for code in LOCALES)
    auto = tr("`auto` follows your Discord app.")
    return "\n".join([head, tr("Available: {languages}", languages=others), auto])

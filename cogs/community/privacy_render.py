"""What /privacy shows, as pure functions: the panel (consent, leaderboards, what was done), the confirmations
and the results. No bot, no I/O."""

from __future__ import annotations

import discord

from cogs.i18n import Tr, day
from engine.privacy import ConsentState, TextsDeletion
from engine.records import UserRow


def consent_line(tr: Tr, consent: ConsentState) -> str:
    if not consent.required:
        return ""
    if consent.agreed_at is not None:
        return "✅ " + tr(
            "You agreed on {date} that your contributions go into the openly licensed dataset.",
            date=day(consent.agreed_at),
        )
    if consent.withdrawn_at is not None:
        return "⏸️ " + tr(
            "You withdrew your consent on {date}: nothing new of yours is stored.", date=day(consent.withdrawn_at)
        )
    return "⏸️ " + tr("You have not agreed yet: nothing you write is stored until you do.")


def panel_embed(tr: Tr, user: UserRow, consent: ConsentState, note: str = "") -> discord.Embed:
    lines = [consent_line(tr, consent)]
    if user.show_on_leaderboard:
        lines.append(tr("You are **shown on** the leaderboards."))
    else:
        lines.append(tr("You are **hidden from** the leaderboards."))
    if user.name_removed_at is not None:
        lines.append(tr("Your name was removed from your contributions on {date}.", date=day(user.name_removed_at)))
    if user.texts_deleted_at is not None:
        lines.append(tr("Your texts were deleted on {date}.", date=day(user.texts_deleted_at)))
    what = tr(
        "**Export** sends you what Grove holds about you as a JSON file: your messages with their review result, "
        "their conversation's state and their rank; your profile, stats and the posts about your messages.\n"
        "**Remove my name** keeps your contributions in the dataset under an id that no longer leads to you.\n"
        "**Delete my texts** erases everything you wrote; conversations of others that grew from your texts are "
        "withdrawn from the dataset, not deleted."
    )
    body = "\n".join(line for line in lines if line)
    embed = discord.Embed(title="🔒 " + tr("Your data in Grove"), colour=discord.Colour.blurple())
    embed.description = (note + "\n\n" if note else "") + f"{body}\n\n{what}"
    return embed


def confirm_name(tr: Tr) -> discord.Embed:
    text = tr(
        "Your messages, reviews, rankings and reactions stay in the dataset, but under a new id that nothing leads "
        "back to you, not even for Grove: they leave your stats, your history and your export for good. What you "
        "do afterwards is yours again. This cannot be undone."
    )
    return discord.Embed(title=tr("Remove your name?"), description=text, colour=discord.Colour.orange())


def confirm_texts(tr: Tr, preview: TextsDeletion) -> discord.Embed:
    lines = [
        tr.plural(
            "{count} text of yours will be erased: from Grove, from the dataset and from Grove's posts on Discord.",
            "{count} texts of yours will be erased: from Grove, from the dataset and from Grove's posts on Discord.",
            preview.messages,
        )
    ]
    if preview.others:
        lines.append(
            "⚠️ "
            + tr.plural(
                "**{count} conversation of other members** grew from your prompts or replies. It will be withdrawn "
                "from the dataset: its replies are kept, but no longer exported.",
                "**{count} conversations of other members** grew from your prompts or replies. They will be "
                "withdrawn from the dataset: their replies are kept, but no longer exported.",
                preview.others,
            )
        )
    else:
        lines.append(tr("No conversation of other members depends on your texts."))
    lines.append(tr("Your drafts and the comments of your reviews and reports are erased too. This cannot be undone."))
    return discord.Embed(title=tr("Delete your texts?"), description="\n\n".join(lines), colour=discord.Colour.red())


def confirm_withdraw(tr: Tr) -> discord.Embed:
    text = tr(
        "Grove will store nothing new of yours: your open tasks are withdrawn and their drafts deleted. What you "
        "gave before stays in the dataset; to take it out, use **Remove my name** or **Delete my texts**. You can "
        "agree again at any time."
    )
    return discord.Embed(title=tr("Withdraw your consent?"), description=text, colour=discord.Colour.orange())


def name_removed_embed(tr: Tr, moved: int) -> discord.Embed:
    text = tr.plural(
        "{count} message, with your reviews, rankings and reactions, stays in the dataset with no link to you.",
        "{count} messages, with your reviews, rankings and reactions, stay in the dataset with no link to you.",
        moved,
    )
    return discord.Embed(title="👤 " + tr("Your name was removed"), description=text, colour=discord.Colour.dark_grey())


def texts_deleted_embed(tr: Tr, done: TextsDeletion, failed: list[str]) -> discord.Embed:
    lines = [tr.plural("{count} text of yours was erased.", "{count} texts of yours were erased.", done.messages)]
    if done.others:
        lines.append(
            tr.plural(
                "{count} conversation of other members was withdrawn from the dataset.",
                "{count} conversations of other members were withdrawn from the dataset.",
                done.others,
            )
        )
    if failed:
        # Translators: {features} names parts of Grove (e.g. Moderation) for moderators to look into
        more = tr(
            "Some Discord posts could not be cleared yet ({features}); moderators can see why.",
            features=", ".join(failed),
        )
        lines.append(f"⚠️ {more}")
    title = "🗑️ " + tr("Your texts were deleted")
    return discord.Embed(title=title, description="\n".join(lines), colour=discord.Colour.dark_grey())

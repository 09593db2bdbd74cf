"""/config …: every server setting, stored in the database; gated by default_permissions and a bot-side check."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.checks import ADMINS, OWNERS, NotPermitted, heavy, is_admin
from cogs.context import community_of, member_id
from cogs.i18n import Tr, tr_for
from cogs.replies import send
from engine.export import ExportOptions, export_file
from engine.guilds import GuildConfig
from engine.lang import normalize_lang

if TYPE_CHECKING:
    from bot.bot import Grove

EXPORTING = threading.Lock()  # held while a /config export writes its file (in any server)

CHANNEL_TYPES = [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]


def describe(tr: Tr, config: GuildConfig) -> discord.Embed:
    def channel(cid: int | None) -> str:
        return f"<#{cid}>" if cid else tr("not set")

    embed = discord.Embed(title=tr("Grove settings for this server"), colour=discord.Colour.blurple())
    embed.add_field(name=tr("Default language"), value=config.default_lang or tr("not set (en)"))
    role = f"<@&{config.moderator_role_id}>" if config.moderator_role_id else tr("not set (Manage Messages)")
    embed.add_field(name=tr("Moderator role"), value=role)
    embed.add_field(name=tr("Feed channel"), value=channel(config.feed_channel_id))
    embed.add_field(name=tr("Mod-queue channel"), value=channel(config.mod_queue_channel_id))
    lines = [f"<#{cid}> → **{lang}**" for cid, lang in config.language_channels.items()]
    embed.add_field(name=tr("Language channels"), value="\n".join(lines)[:1024] or tr("none"), inline=False)
    return embed


async def save(interaction: discord.Interaction[Grove], setter: str, value: int | str | None) -> None:
    """Change one server setting through `GuildSettings.<setter>` and show the settings as they now are."""
    assert interaction.guild_id is not None
    tr = await tr_for(interaction)
    change = getattr(interaction.client.settings, setter)
    config = await change(interaction.guild_id, value, await member_id(interaction))
    await send(interaction, tr("Saved."), embeds=[describe(tr, config)])


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(commands.GroupCog, group_name="config", group_description="Grove's settings for this server (admins)."):
    language_channel = app_commands.Group(name="language-channel", description="Channels whose tasks use a language.")
    language = app_commands.Group(name="language", description="The languages members can use on this server.")
    member_data_held: ClassVar[str] = ""  # per-server settings only; who changed them is the engine's log

    def __init__(self, bot: Grove) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Grove]) -> bool:  # type: ignore[override]
        if interaction.guild_id is None:  # guild_only() hides it in DMs; a stale or forged call still gets here
            raise app_commands.NoPrivateMessage()
        if not await is_admin(interaction):
            raise NotPermitted(ADMINS)
        return True

    @language_channel.command(name="set", description="Tasks asked for in this channel use this language.")
    @app_commands.describe(channel="The channel", language="Language code, e.g. de or pt-BR")
    async def language_channel_set(
        self, interaction: discord.Interaction[Grove], channel: discord.TextChannel, language: str
    ) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        code = await interaction.client.settings.set_language_channel(
            interaction.guild_id, channel.id, language, await member_id(interaction)
        )
        said = tr(
            "Tasks in {channel} are now in **{language}**; its new messages go there too.",
            channel=channel.mention,
            language=code,
        )
        await send(interaction, said)

    @language_channel.command(name="remove", description="The channel no longer has a language of its own.")
    async def language_channel_remove(
        self, interaction: discord.Interaction[Grove], channel: discord.TextChannel
    ) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        await interaction.client.settings.remove_language_channel(
            interaction.guild_id, channel.id, await member_id(interaction)
        )
        await send(interaction, tr("{channel} no longer has a language.", channel=channel.mention))

    @language_channel.command(name="list", description="Channels with a language.")
    async def language_channel_list(self, interaction: discord.Interaction[Grove]) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        config = await interaction.client.settings.get(interaction.guild_id)
        lines = [f"<#{cid}> → **{lang}**" for cid, lang in config.language_channels.items()]
        await send(interaction, "\n".join(lines) or tr("No channel has a language; tasks use the default language."))

    @language.command(name="add", description="Let members ask for tasks and write in a language here.")
    @app_commands.describe(language="Language code, e.g. de or pt-BR")
    async def language_add(self, interaction: discord.Interaction[Grove], language: str) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        code, added = await interaction.client.settings.add_language(
            interaction.guild_id, language, await member_id(interaction)
        )
        if added:
            said = tr("Members can now ask for tasks and write in **{language}** here.", language=code)
        else:
            said = tr("**{language}** was already enabled here.", language=code)
        await send(interaction, said)

    @language.command(name="remove", description="Members can no longer start work in a language here.")
    @app_commands.describe(language="Language code, e.g. de or pt-BR")
    async def language_remove(self, interaction: discord.Interaction[Grove], language: str) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        code = await interaction.client.settings.remove_language(
            interaction.guild_id, language, await member_id(interaction)
        )
        said = tr("Members can no longer ask for tasks in **{language}** here; its conversations stay.", language=code)
        await send(interaction, said)

    @language.command(name="list", description="The languages members can use on this server.")
    async def language_list(self, interaction: discord.Interaction[Grove]) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        config = await interaction.client.settings.get(interaction.guild_id)
        languages = ", ".join(f"**{code}**" for code in sorted(config.languages))
        await send(interaction, tr("Members can use these languages here: {languages}", languages=languages))

    @app_commands.command(name="community", description="This server's data pool; owners can pool it with another.")
    @app_commands.describe(join_server="The bot's owners: the id of a server whose community this server joins")
    async def community(self, interaction: discord.Interaction[Grove], join_server: str | None = None) -> None:
        assert interaction.guild_id is not None
        bot, tr = interaction.client, await tr_for(interaction)
        if join_server is not None:
            if interaction.user.id not in bot.config.discord.owner_ids:
                raise NotPermitted(OWNERS)
            other = int(join_server) if join_server.strip().isdigit() else None
            target = await bot.settings.known_community(other) if other else None
            if target is None:
                await send(interaction, "⚠️ " + tr("That server has not used Grove yet; there is no community to join."))
                return
            await bot.join_community(interaction.guild_id, target, await member_id(interaction))
        community = await bot.community_of_guild(interaction.guild_id)
        servers = await bot.settings.guilds_of(community)
        said = tr(
            "This server's data pool is community {community}, shared by {count} server(s).",
            community=community,
            count=len(servers),
        )
        await send(interaction, said)

    @app_commands.command(name="moderator-role", description="Members with this role moderate (leave out to clear).")
    async def moderator_role(self, interaction: discord.Interaction[Grove], role: discord.Role | None = None) -> None:
        await save(interaction, "set_moderator_role", role.id if role else None)

    @app_commands.command(name="feed-channel", description="Where new messages are mirrored (leave out to clear).")
    @app_commands.describe(channel="The feed channel")
    async def feed_channel(
        self, interaction: discord.Interaction[Grove], channel: discord.TextChannel | None = None
    ) -> None:
        await save(interaction, "set_feed_channel", channel.id if channel else None)

    @app_commands.command(name="mod-queue-channel", description="Where flagged messages go (leave out to clear).")
    @app_commands.describe(channel="The moderation queue channel")
    async def mod_queue_channel(
        self, interaction: discord.Interaction[Grove], channel: discord.TextChannel | None = None
    ) -> None:
        await save(interaction, "set_mod_queue_channel", channel.id if channel else None)

    @app_commands.command(name="default-language", description="The server's language when nothing else decides.")
    @app_commands.describe(language="Language code, e.g. en or de (leave out to clear)")
    async def default_language(self, interaction: discord.Interaction[Grove], language: str | None = None) -> None:
        await save(interaction, "set_default_language", language)

    @app_commands.command(name="export", description="Export the dataset (oasst JSON Lines, gzip).")
    @heavy()
    @app_commands.describe(
        language="Only this language (default: all)",
        labels="Add label means and counts",
        everything="Every tree state, not only finished trees",
    )
    async def export(
        self,
        interaction: discord.Interaction[Grove],
        language: str | None = None,
        labels: bool = False,
        everything: bool = False,
    ) -> None:
        if not EXPORTING.acquire(blocking=False):  # one export at a time, for every server: memory stays bounded
            tr = await tr_for(interaction)
            await send(interaction, "⏳ " + tr("Another export is running; try again in a minute."))
            return
        try:
            await self._export(interaction, language, labels, everything)
        finally:
            EXPORTING.release()

    async def _export(
        self, interaction: discord.Interaction[Grove], language: str | None, labels: bool, everything: bool
    ) -> None:
        bot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)
        folder = Path(bot.config.database.path).resolve().parent / "exports"
        folder.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(bot.clock.now()))
        out = folder / f"grove-{stamp}-{interaction.id}.jsonl.gz"
        options = ExportOptions(
            states=None if everything else ExportOptions().states,
            lang=normalize_lang(language) if language else None,
            labels=labels,
            community=await community_of(interaction),  # this server's community only
        )
        # on a worker thread with its own connection: the bot keeps answering members while the file is written
        result = await asyncio.to_thread(export_file, bot.config.database.path, out, options)
        tr = await tr_for(interaction)
        messages = tr.plural("{count} message", "{count} messages", result.messages)
        summary = tr.plural(
            "Exported {count} tree ({messages}).",
            "Exported {count} trees ({messages}).",
            result.trees,
            messages=messages,
        )
        size = out.stat().st_size
        if size <= interaction.filesize_limit:
            try:
                await send(interaction, summary, files=[discord.File(out, filename=out.name)])
            finally:
                out.unlink(missing_ok=True)  # attached (or refused): no copy of the dataset is left behind
        else:
            too_large = tr(
                "The file ({size} MB) is too large to attach; it is at {path}.",
                size=tr.decimal(size / 1e6),
                path=f"`{out}`",
            )
            await send(interaction, f"{summary} {too_large}")

    @app_commands.command(name="show", description="Show Grove's settings for this server.")
    async def show(self, interaction: discord.Interaction[Grove]) -> None:
        assert interaction.guild_id is not None
        tr = await tr_for(interaction)
        await send(interaction, embeds=[describe(tr, await interaction.client.settings.get(interaction.guild_id))])

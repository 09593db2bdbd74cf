"""Moderation: the feed of new messages, reactions on it as data, the mod queue and `/mod …`."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common import NO_MENTIONS, NotPermitted, is_moderator, member_id, member_is_moderator, send
from cogs.moderation.views import MESSAGE_ID, message_post, queue_view, with_log_line
from engine import errors
from engine.errors import DomainError
from engine.guilds import Post
from engine.types import Emoji, EmojiOp, TreeState
from engine.records import MessageRow

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.moderation")

VOTES = {"👍": Emoji.THUMBS_UP, "👎": Emoji.THUMBS_DOWN, "🚩": Emoji.RED_FLAG}  # anyone; removing undoes
MOD_EMOJI = {"⛔": "halt", "🗑": "delete", "✅": "restore"}  # moderators only; others' are removed
POST_REF = re.compile(r"(?:^|/)(\d{15,21})$")  # a post's Discord message id, or a link to it


def emoji_key(emoji: discord.PartialEmoji) -> str:
    """A unicode emoji without variation selectors and skin tones ("🗑️" → "🗑", "👍🏽" → "👍"); "" for custom."""
    if emoji.id is not None or not emoji.name:
        return ""
    return "".join(c for c in emoji.name if c != "\ufe0f" and not "\U0001f3fb" <= c <= "\U0001f3ff")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def state_name(state: TreeState | str) -> str:
    return str(state).replace("_", " ")


def jump_url(post: Post) -> str:
    return f"https://discord.com/channels/{post.guild_id}/{post.channel_id}/{post.discord_message_id}"


@app_commands.guild_only()
@app_commands.default_permissions(manage_messages=True)
class Moderation(commands.GroupCog, group_name="mod", group_description="Moderator actions, each logged."):
    def __init__(self, bot: Grove) -> None:
        self.bot = bot
        self._queue_lock = asyncio.Lock()  # one mod-queue post per message and server, even under bursts
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        if interaction.guild_id is None:  # guild_only() hides it in DMs; a stale or forged call still gets here
            raise app_commands.NoPrivateMessage()
        if not await is_moderator(interaction):
            raise NotPermitted("moderators")
        return True

    # ------------------------------------------------------------------ rendering and posting

    async def render(
        self,
        message: MessageRow,
        guild_id: int,
        *,
        lang: str | None = None,
        colour: discord.Colour | None = None,
        note: str = "",
    ) -> tuple[list[discord.Embed], list[discord.File]]:
        lang = lang or (await self.bot.engine.tree_status(message.tree_id)).lang
        parent = link = None
        if message.parent_id is not None:
            parent = await self.bot.engine.message(message.parent_id)
            posts = await self.bot.settings.posts_of(parent.id)
            link = next((jump_url(p) for p in posts if p.guild_id == guild_id and p.kind == "feed"), None)
        return message_post(message, lang=lang, parent=parent, parent_link=link, colour=colour, note=note)

    async def _post(
        self,
        channel_id: int,
        guild_id: int,
        message: MessageRow,
        kind: str,
        *,
        lang: str | None = None,
        note: str = "",
        view: discord.ui.View | None = None,
    ) -> Post:
        colour = discord.Colour.red() if kind == "queue" else None
        embeds, files = await self.render(message, guild_id, lang=lang, colour=colour, note=note)
        channel = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
        if view is None:
            sent = await channel.send(embeds=embeds, files=files, allowed_mentions=NO_MENTIONS)
        else:
            sent = await channel.send(embeds=embeds, files=files, view=view, allowed_mentions=NO_MENTIONS)
        post = Post(sent.id, message.id, guild_id, channel_id, kind)
        await self.bot.settings.record_post(post)
        return post

    async def mirror(self, message_id: str, guild_id: int) -> Post | None:
        """Post a new message to the server's channel for its language, else its feed channel."""
        config = await self.bot.settings.get(guild_id)
        message = await self.bot.engine.message(message_id)
        lang = (await self.bot.engine.tree_status(message.tree_id)).lang
        by_lang = sorted(cid for cid, code in config.language_channels.items() if code == lang)
        channel_id = by_lang[0] if by_lang else config.feed_channel_id
        if channel_id is None:
            return None
        return await self._post(channel_id, guild_id, message, "feed", lang=lang)

    async def enqueue(self, message_id: str, guild_id: int, why: str) -> Post | None:
        """Put a message in the server's mod queue, once; later flags and reports are noted on that post."""
        async with self._queue_lock:
            if any(p.kind == "queue" and p.guild_id == guild_id for p in await self.bot.settings.posts_of(message_id)):
                await self.note_on_queue(message_id, guild_id, why)
                return None
            config = await self.bot.settings.get(guild_id)
            if config.mod_queue_channel_id is None:
                return None
            message = await self.bot.engine.message(message_id)
            return await self._post(
                config.mod_queue_channel_id, guild_id, message, "queue", note=why, view=queue_view(message_id)
            )

    async def note_on_queue(self, message_id: str, guild_id: int | None, line: str) -> None:
        """Add a line to the moderation log of the message's queue posts (in one server, or all)."""
        for post in await self.bot.settings.posts_of(message_id):
            if post.kind != "queue" or guild_id not in (None, post.guild_id):
                continue
            channel = self.bot.get_partial_messageable(post.channel_id, guild_id=post.guild_id)
            try:
                sent = await channel.fetch_message(post.discord_message_id)
                await sent.edit(
                    embeds=with_log_line(sent.embeds, line, self.bot.clock.now()), allowed_mentions=NO_MENTIONS
                )
            except discord.HTTPException as exc:
                log.warning("could not update queue post %s: %s", post.discord_message_id, exc)

    # ------------------------------------------------------------------ actions

    async def moderate(self, action: str, message_id: str, actor: int, reason: str) -> str:
        """Run a moderator action about a message on the engine; returns what changed, as a sentence."""
        engine = self.bot.engine
        message = await engine.message(message_id)
        if action == "halt":
            state = await engine.halt_tree(message.tree_id, actor, reason)
            return f"⛔ halted tree `{message.tree_id}` (now **{state_name(state)}**)"
        if action == "delete":
            state = await engine.delete_message(message.id, actor, reason)
            return f"🗑️ deleted message `{message.id}` and its replies (tree now **{state_name(state)}**)"
        if action == "restore":
            if message.deleted:
                state = await engine.restore_message(message.id, actor, reason)
                return f"✅ restored message `{message.id}` (tree now **{state_name(state)}**)"
            if (await engine.tree_status(message.tree_id)).state is TreeState.HALTED_BY_MODERATOR:
                state = await engine.resume_tree(message.tree_id, actor, reason)
                return f"✅ resumed tree `{message.tree_id}` (now **{state_name(state)}**)"
            if flags := await engine.clear_flags(message.id, actor, reason):
                return f"✅ cleared {plural(flags, 'flag')} on message `{message.id}`"
            return "✅ checked: nothing to undo"
        if action == "ban":
            await engine.ban_user(message.user_id, actor, reason)
            discord_id = await self.bot.discord_id(message.user_id)
            who = f"<@{discord_id}>" if discord_id else f"member #{message.user_id}"
            return f"🔨 banned the author {who} from tasks"
        if action == "dismiss":  # the report was unfounded: its flags go too
            flags = await engine.clear_flags(message.id, actor, reason)
            return f"👌 dismissed (cleared {plural(flags, 'flag')})" if flags else "👌 dismissed"
        raise ValueError(f"unknown moderation action {action!r}")

    async def queue_action(self, interaction: discord.Interaction, message_id: str, action: str) -> None:
        """A moderator pressed a queue button: act, then show who did what on the queue post."""
        actor = await member_id(interaction)
        line = await self.moderate(action, message_id, actor, "mod queue")
        log.info("%s (user %s, message %s)", line, interaction.user.id, message_id)
        embeds = interaction.message.embeds if interaction.message else []
        line = f"{line} — {interaction.user.mention}"
        await interaction.response.edit_message(embeds=with_log_line(embeds, line, self.bot.clock.now()))

    # ------------------------------------------------------------------ events

    @commands.Cog.listener()
    async def on_grove_message(self, message_id: str, guild_id: int | None) -> None:
        if guild_id is None:
            return
        try:
            await self.mirror(message_id, guild_id)
        except (DomainError, discord.HTTPException) as exc:
            log.warning("could not mirror message %s in server %s: %s", message_id, guild_id, exc)

    @commands.Cog.listener()
    async def on_grove_report(self, message_id: str, guild_id: int | None, reporter: int) -> None:
        if guild_id is None:
            return
        try:
            discord_id = await self.bot.discord_id(reporter)
            await self.enqueue(message_id, guild_id, f"📝 reported by <@{discord_id}>" if discord_id else "📝 reported")
        except (DomainError, discord.HTTPException) as exc:
            log.warning("could not queue reported message %s in server %s: %s", message_id, guild_id, exc)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        if payload.guild_id is None or self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        key = emoji_key(payload.emoji)
        vote, action = VOTES.get(key), MOD_EMOJI.get(key)
        if vote is None and (action is None or not added):  # taking back a moderator emoji undoes nothing
            return
        post = await self.bot.settings.post(payload.message_id)
        if post is None:
            return
        try:
            if vote is not None:
                user = await self._reactor(payload)
                await self.bot.engine.react(user, post.message_id, vote, EmojiOp.ADD if added else EmojiOp.REMOVE)
                if vote is Emoji.RED_FLAG and added:
                    await self.enqueue(post.message_id, post.guild_id, f"🚩 flagged by <@{payload.user_id}>")
                return
            assert action is not None
            member = payload.member
            if member is None or not await member_is_moderator(self.bot, member, self._permissions(member, payload)):
                log.info(
                    "removing %s by user %s (not a moderator) from post %s", key, payload.user_id, payload.message_id
                )
                await self._remove(payload)
                return
            line = await self.moderate(action, post.message_id, await self.bot.member_id(member), f"{key} reaction")
            log.info("%s (user %s, message %s)", line, member.id, post.message_id)
            await self.note_on_queue(post.message_id, None, f"{line} — <@{member.id}> ({key})")
        except DomainError as exc:
            log.info("%s by user %s on message %s changed nothing: %s", key, payload.user_id, post.message_id, exc)
        except discord.HTTPException as exc:
            log.warning("%s by user %s on message %s: Discord refused: %s", key, payload.user_id, post.message_id, exc)

    async def _reactor(self, payload: discord.RawReactionActionEvent) -> int:
        """The engine id of who reacted (a removal carries no member: use the cache, else ask Discord)."""
        user: discord.abc.User | None = payload.member or self.bot.get_user(payload.user_id)
        if user is None:
            user = await self.bot.fetch_user(payload.user_id)
        return await self.bot.member_id(user)

    @staticmethod
    def _permissions(member: discord.Member, payload: discord.RawReactionActionEvent) -> discord.Permissions | None:
        channel = member.guild.get_channel_or_thread(payload.channel_id)
        return channel.permissions_for(member) if channel is not None else None

    async def _remove(self, payload: discord.RawReactionActionEvent) -> None:
        channel = self.bot.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        await channel.get_partial_message(payload.message_id).remove_reaction(
            payload.emoji, discord.Object(payload.user_id)
        )

    # ------------------------------------------------------------------ /mod …

    async def _message_ref(self, ref: str) -> str:
        """An engine message id, from itself or from a feed/queue post (its Discord id or link)."""
        ref = ref.strip()
        if not re.fullmatch(MESSAGE_ID, ref) and (match := POST_REF.search(ref)):
            post = await self.bot.settings.post(int(match[1]))
            if post is not None:
                return post.message_id
        return ref

    async def _tree_ref(self, ref: str) -> str:
        """A tree id, from itself or from any message (or post) of the tree."""
        ref = await self._message_ref(ref)
        try:
            return (await self.bot.engine.tree_status(ref)).id
        except errors.TreeNotFound:
            try:
                return (await self.bot.engine.message(ref)).tree_id
            except errors.MessageNotFound:
                raise errors.TreeNotFound() from None

    @app_commands.command(name="halt", description="Halt a conversation tree: it hands out no more tasks.")
    @app_commands.describe(tree="Tree id (or any of its messages, or a feed post link)", reason="Why (logged)")
    async def halt(self, interaction: discord.Interaction, tree: str, reason: str | None = None) -> None:
        tree_id = await self._tree_ref(tree)
        before = (await self.bot.engine.tree_status(tree_id)).state
        state = await self.bot.engine.halt_tree(tree_id, await member_id(interaction), reason or "")
        await send(interaction, f"⛔ Tree `{tree_id}` halted: **{state_name(before)}** → **{state_name(state)}**.")

    @app_commands.command(name="resume", description="Resume a halted tree where it stopped.")
    @app_commands.describe(tree="Tree id (or any of its messages, or a feed post link)", reason="Why (logged)")
    async def resume(self, interaction: discord.Interaction, tree: str, reason: str | None = None) -> None:
        tree_id = await self._tree_ref(tree)
        state = await self.bot.engine.resume_tree(tree_id, await member_id(interaction), reason or "")
        await send(interaction, f"▶️ Tree `{tree_id}` resumed: now **{state_name(state)}**.")

    @app_commands.command(name="delete", description="Delete a message and every reply below it.")
    @app_commands.describe(message="Message id (or a feed post link)", reason="Why (logged)")
    async def delete(self, interaction: discord.Interaction, message: str, reason: str | None = None) -> None:
        await self._message_command(interaction, "delete", message, reason)

    @app_commands.command(name="restore", description="Undo a deletion (a restored prompt resumes its tree).")
    @app_commands.describe(message="Message id (or a feed post link)", reason="Why (logged)")
    async def restore(self, interaction: discord.Interaction, message: str, reason: str | None = None) -> None:
        await self._message_command(interaction, "restore", message, reason)

    async def _message_command(
        self, interaction: discord.Interaction, action: str, ref: str, reason: str | None
    ) -> None:
        message_id = await self._message_ref(ref)
        actor = await member_id(interaction)
        engine = self.bot.engine
        if action == "delete":
            state = await engine.delete_message(message_id, actor, reason or "")
            line = f"🗑️ deleted message `{message_id}` and its replies (tree now **{state_name(state)}**)"
        else:
            state = await engine.restore_message(message_id, actor, reason or "")
            line = f"✅ restored message `{message_id}` (tree now **{state_name(state)}**)"
        await send(interaction, f"{line}.")
        await self.note_on_queue(message_id, None, f"{line} — {interaction.user.mention} (/mod)")

    @app_commands.command(name="ban", description="Stop a member from taking tasks; their open tasks are withdrawn.")
    @app_commands.describe(member="The member", reason="Why (logged)")
    async def ban(self, interaction: discord.Interaction, member: discord.User, reason: str | None = None) -> None:
        await self.bot.engine.ban_user(await member_id(interaction, member), await member_id(interaction), reason or "")
        await send(interaction, f"🔨 {member.mention} is banned from Grove tasks; their open tasks were withdrawn.")

    @app_commands.command(name="unban", description="Let a banned member take tasks again.")
    @app_commands.describe(member="The member", reason="Why (logged)")
    async def unban(self, interaction: discord.Interaction, member: discord.User, reason: str | None = None) -> None:
        user = await member_id(interaction, member)
        await self.bot.engine.unban_user(user, await member_id(interaction), reason or "")
        await send(interaction, f"✅ {member.mention} may take Grove tasks again.")

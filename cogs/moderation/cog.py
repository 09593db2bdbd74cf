"""Moderation: the feed of new messages, reactions on it as data, the mod queue, `/mod …`, and keeping posts
true to the engine (a deleted, restored or purged message is shown as it now is)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.checks import MODERATORS, OWNERS, NotPermitted, is_moderator, member_is_moderator
from cogs.context import engine_of, member_id
from cogs.i18n import Tr, tr_for
from cogs.moderation import actions
from cogs.moderation.posts import Posts, jump_url
from cogs.moderation.views import MESSAGE_ID, queue_view
from cogs.replies import send
from cogs.vocabulary import state_name
from engine import errors
from engine.errors import DomainError
from engine.events import MemberPurged, MessagesDeleted, MessagesRestored, TextsDeleted
from engine.types import Emoji, EmojiOp

if TYPE_CHECKING:
    from bot.bot import Grove
    from engine.engine import Engine

log = logging.getLogger("grove.moderation")

VOTES = {"👍": Emoji.THUMBS_UP, "👎": Emoji.THUMBS_DOWN, "🚩": Emoji.RED_FLAG}  # anyone; removing undoes
MOD_EMOJI = {"⛔": "halt", "🗑": "delete", "✅": "restore"}  # moderators only; others' are removed
POST_REF = re.compile(r"(?:^|/)(\d{15,21})$")  # a post's Discord message id, or a link to it


def emoji_key(emoji: discord.PartialEmoji) -> str:
    """A unicode emoji without variation selectors and skin tones ("🗑️" → "🗑", "👍🏽" → "👍"); "" for custom."""
    if emoji.id is not None or not emoji.name:
        return ""
    return "".join(c for c in emoji.name if c != "\ufe0f" and not "\U0001f3fb" <= c <= "\U0001f3ff")


# No default_permissions: Grove's moderators include holders of the role set with /config moderator-role and
# members with Manage Server, whom a Manage Messages gate would hide /mod from. Every /mod command checks the
# member itself (`require_moderator`) and refuses everyone else with one sentence.
@app_commands.guild_only()
class Moderation(commands.GroupCog, group_name="mod", group_description="Moderator actions, each logged."):
    member_data_held: ClassVar[str] = "feed and mod-queue posts showing the member's messages"

    def __init__(self, bot: Grove) -> None:
        self.bot = bot
        self.posts = Posts(bot)
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Grove]) -> bool:  # type: ignore[override]
        if interaction.guild_id is None:  # guild_only() hides it in DMs; a stale or forged call still gets here
            raise app_commands.NoPrivateMessage()
        if not await is_moderator(interaction):
            raise NotPermitted(MODERATORS)
        return True

    # ------------------------------------------------------------------ what the member's data is (cogs.privacy)

    async def member_data(self, user_id: int) -> dict[str, Any]:
        """The posts Grove made about the member's messages, with links."""
        posts = []
        for message in await self.bot.engine.messages_of_user(user_id, include_deleted=True):
            for post in await self.bot.settings.posts_of(message.id):
                posts.append({"message_id": message.id, "kind": str(post.kind), "link": jump_url(post)})
        return {"posts": posts}

    async def delete_member_data(self, user_id: int) -> None:
        """Every post about the member's messages becomes a notice without their text."""
        messages = await self.bot.engine.messages_of_user(user_id, include_deleted=True)
        await self.posts.remove(m.id for m in messages)

    # ------------------------------------------------------------------ engine events (after each commit)

    @commands.Cog.listener("on_grove_messages_deleted")
    async def messages_deleted(self, event: MessagesDeleted) -> None:
        await self.posts.refresh(event.message_ids)

    @commands.Cog.listener("on_grove_messages_restored")
    async def messages_restored(self, event: MessagesRestored) -> None:
        await self.posts.refresh(event.message_ids)

    @commands.Cog.listener("on_grove_member_purged")
    async def member_purged(self, event: MemberPurged) -> None:
        await self.posts.remove(event.message_ids)

    @commands.Cog.listener("on_grove_texts_deleted")
    async def texts_deleted(self, event: TextsDeleted) -> None:
        await self.posts.remove(event.message_ids)  # the member's own posts: a notice without their text
        await self.posts.refresh(event.replies)  # replies to them quote their text ("In reply to"): not any more

    # ------------------------------------------------------------------ the feed and the queue

    # A message or report belongs to a community (a DM one to the member's home community): it goes to the feed
    # and the queue of every server of that community.

    @commands.Cog.listener()
    async def on_grove_message(self, message_id: str, community: int) -> None:
        for guild_id in await self.bot.settings.guilds_of(community):
            if not self.bot.allowed_in(guild_id):
                continue
            try:
                await self.posts.mirror(message_id, guild_id)
            except (DomainError, discord.HTTPException) as exc:
                log.warning("could not mirror message %s in server %s: %s", message_id, guild_id, exc)

    @commands.Cog.listener()
    async def on_grove_report(self, message_id: str, community: int, reporter: int) -> None:
        discord_id = await self.bot.discord_id(reporter)
        who = f"<@{discord_id}>"

        def why(tr: Tr) -> str:
            return "📝 " + (tr("reported by {who}", who=who) if discord_id else tr("reported"))

        for guild_id in await self.bot.settings.guilds_of(community):
            if not self.bot.allowed_in(guild_id):
                continue
            try:
                await self.posts.enqueue(message_id, guild_id, why, lambda tr: queue_view(message_id, tr))
            except (DomainError, discord.HTTPException) as exc:
                log.warning("could not queue reported message %s in server %s: %s", message_id, guild_id, exc)

    # ------------------------------------------------------------------ reactions on feed posts

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
                op = EmojiOp.ADD if added else EmojiOp.REMOVE
                await (await self._engine_in(payload.guild_id)).react(user, post.message_id, vote, op)
                if vote is Emoji.RED_FLAG and added:  # to the queue of every server of the community, as reports
                    who = f"<@{payload.user_id}>"
                    community = await self.bot.community_of_guild(payload.guild_id)
                    for guild_id in await self.bot.settings.guilds_of(community):
                        if self.bot.allowed_in(guild_id):
                            await self.posts.enqueue(
                                post.message_id,
                                guild_id,
                                lambda tr: "🚩 " + tr("flagged by {who}", who=who),
                                lambda tr: queue_view(post.message_id, tr),
                            )
                return
            assert action is not None
            member = payload.member
            if member is None or not await member_is_moderator(self.bot, member, self._permissions(member, payload)):
                log.info(
                    "removing %s by user %s (not a moderator) from post %s", key, payload.user_id, payload.message_id
                )
                await self._remove(payload)
                return
            actor = await self.bot.member_id(member)
            engine = await self._engine_in(payload.guild_id)
            line = await actions.moderate(self.bot, engine, action, post.message_id, actor, f"{key} reaction")
            log.info("%s (user %s, message %s)", line, member.id, post.message_id)
            await self.posts.note(post.message_id, None, lambda tr: f"{line(tr)} — <@{member.id}> ({key})")
        except DomainError as exc:
            log.info("%s by user %s on message %s changed nothing: %s", key, payload.user_id, post.message_id, exc)
        except discord.HTTPException as exc:
            log.warning("%s by user %s on message %s: Discord refused: %s", key, payload.user_id, post.message_id, exc)

    async def _engine_in(self, guild_id: int) -> Engine:
        return self.bot.engine.scoped(await self.bot.community_of_guild(guild_id))

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

    async def _tree_ref(self, engine: Engine, ref: str) -> str:
        """A tree id, from itself or from any message (or post) of the tree."""
        ref = await self._message_ref(ref)
        try:
            return (await engine.tree_status(ref)).id
        except errors.TreeNotFound:
            try:
                return (await engine.message(ref)).tree_id
            except errors.MessageNotFound:
                raise errors.TreeNotFound() from None

    @app_commands.command(name="halt", description="Halt a conversation tree: it hands out no more tasks.")
    @app_commands.describe(tree="Tree id (or any of its messages, or a feed post link)", reason="Why (logged)")
    async def halt(self, interaction: discord.Interaction[Grove], tree: str, reason: str | None = None) -> None:
        tr = await tr_for(interaction)
        engine = await engine_of(interaction)
        tree_id = await self._tree_ref(engine, tree)
        before = (await engine.tree_status(tree_id)).state
        state = await engine.halt_tree(tree_id, await member_id(interaction), reason or "")
        said = tr(
            "Tree `{tree}` halted: **{before}** → **{after}**.",
            tree=tree_id,
            before=state_name(tr, before),
            after=state_name(tr, state),
        )
        await send(interaction, f"⛔ {said}")

    @app_commands.command(name="resume", description="Resume a halted tree where it stopped.")
    @app_commands.describe(tree="Tree id (or any of its messages, or a feed post link)", reason="Why (logged)")
    async def resume(self, interaction: discord.Interaction[Grove], tree: str, reason: str | None = None) -> None:
        tr = await tr_for(interaction)
        engine = await engine_of(interaction)
        tree_id = await self._tree_ref(engine, tree)
        state = await engine.resume_tree(tree_id, await member_id(interaction), reason or "")
        said = tr("Tree `{tree}` resumed: now **{state}**.", tree=tree_id, state=state_name(tr, state))
        await send(interaction, f"▶️ {said}")

    @app_commands.command(name="delete", description="Delete a message and every reply below it.")
    @app_commands.describe(message="Message id (or a feed post link)", reason="Why (logged)")
    async def delete(self, interaction: discord.Interaction[Grove], message: str, reason: str | None = None) -> None:
        tr = await tr_for(interaction)
        message_id = await self._message_ref(message)
        engine = await engine_of(interaction)
        line = await actions.delete(engine, message_id, await member_id(interaction), reason or "")
        await send(interaction, f"{line(tr)}.")
        who = interaction.user.mention
        await self.posts.note(message_id, None, lambda post_tr: f"{line(post_tr)} — {who} (/mod)")

    @app_commands.command(name="restore", description="Undo a deletion (a restored prompt resumes its tree).")
    @app_commands.describe(message="Message id (or a feed post link)", reason="Why (logged)")
    async def restore(self, interaction: discord.Interaction[Grove], message: str, reason: str | None = None) -> None:
        tr = await tr_for(interaction)
        message_id = await self._message_ref(message)
        engine = await engine_of(interaction)
        line = await actions.restore(engine, message_id, await member_id(interaction), reason or "")
        await send(interaction, f"{line(tr)}.")
        who = interaction.user.mention
        await self.posts.note(message_id, None, lambda post_tr: f"{line(post_tr)} — {who} (/mod)")

    async def _banning_engine(self, interaction: discord.Interaction[Grove], everywhere: bool) -> Engine:
        """Bans are per community; `everywhere` (every community) is for the bot's owners only."""
        if not everywhere:
            return await engine_of(interaction)
        if interaction.user.id not in self.bot.config.discord.owner_ids:
            raise NotPermitted(OWNERS)
        return self.bot.engine

    @app_commands.command(name="ban", description="Stop a member from taking tasks here; their open tasks go.")
    @app_commands.describe(
        member="The member", reason="Why (logged)", everywhere="Every community (the bot's owners only)"
    )
    async def ban(
        self,
        interaction: discord.Interaction[Grove],
        member: discord.User,
        reason: str | None = None,
        everywhere: bool = False,
    ) -> None:
        tr = await tr_for(interaction)
        if not everywhere and not isinstance(member, discord.Member):
            raise errors.UserNotFound()  # not a member of this server: no one this community's moderators may ban
        target = await member_id(interaction, member)  # an unresolved member is no one: refused before anything
        engine = await self._banning_engine(interaction, everywhere)
        await engine.ban_user(target, await member_id(interaction), reason or "")
        if everywhere:
            said = tr("{member} is banned from Grove tasks in every community.", member=member.mention)
        else:
            said = tr("{member} is banned from Grove tasks; their open tasks were withdrawn.", member=member.mention)
        await send(interaction, f"🔨 {said}")

    @app_commands.command(name="unban", description="Let a banned member take tasks again.")
    @app_commands.describe(
        member="The member", reason="Why (logged)", everywhere="Lift a ban from every community (owners only)"
    )
    async def unban(
        self,
        interaction: discord.Interaction[Grove],
        member: discord.User,
        reason: str | None = None,
        everywhere: bool = False,
    ) -> None:
        tr = await tr_for(interaction)
        user = await member_id(interaction, member)
        engine = await self._banning_engine(interaction, everywhere)
        await engine.unban_user(user, await member_id(interaction), reason or "")
        await send(interaction, "✅ " + tr("{member} may take Grove tasks again.", member=member.mention))

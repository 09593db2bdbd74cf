"""Grove's posts about messages in a server: the feed post of each new message, the mod-queue post of a flagged
or reported one, and keeping both true to the message when it is deleted, restored or its author purged.

A post is edited under its lock (`POST_LOCKS`), so a queue button's answer and an event's refresh of the same
post never interleave (each reads the post, changes it and writes it whole).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import discord

from cogs.i18n import Tr, server_tr
from cogs.moderation.render import is_removed, log_embeds, message_post, removed_post, with_log_line
from cogs.replies import NO_MENTIONS
from engine.errors import DomainError
from engine.guilds import Post, PostKind
from engine.records import MessageRow

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.moderation")

Told = Callable[[Tr], str]  # a log line, told in the language of the post it goes to
ViewMaker = Callable[[Tr], discord.ui.View]  # the buttons of a queue post, in the language of the post


class PostLocks:
    """One lock per Discord post while anyone edits it; a lock is dropped when no one holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()

    @asynccontextmanager
    async def hold(self, post_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(post_id, asyncio.Lock())
        self._users[post_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[post_id] -= 1
            if not self._users[post_id]:
                del self._users[post_id], self._locks[post_id]


POST_LOCKS = PostLocks()


def jump_url(post: Post) -> str:
    return f"https://discord.com/channels/{post.guild_id}/{post.channel_id}/{post.discord_message_id}"


class Posts:
    """The feed and the mod queue of every server, for one bot."""

    def __init__(self, bot: Grove) -> None:
        self.bot = bot
        self._queue_lock = asyncio.Lock()  # one mod-queue post per message and server, even under bursts
        self._purged: set[str] = set()  # messages whose author was purged: their posts never show them again
        self._cleared: set[int] = set()  # posts already replaced by the purge notice (the event and the hook)
        # Log lines waiting for an edit of their queue post that is on its way (see `note`): a storm of flags
        # or reports becomes a few edits, not one GET and one PATCH each.
        self._waiting: dict[int, list[tuple[Told, float]]] = {}

    # ------------------------------------------------------------------ rendering

    def hidden(self, message: MessageRow, kind: PostKind) -> bool:
        """Whether a post shows a notice instead of the message: always once its text is erased or its author
        purged; a deleted message also leaves the feed (the mod queue keeps it, marked, for a restore)."""
        if not message.text or message.id in self._purged:
            return True
        return kind is PostKind.FEED and message.deleted

    async def render(
        self, message: MessageRow, guild_id: int, kind: PostKind, *, lang: str | None = None
    ) -> tuple[list[discord.Embed], list[discord.File]]:
        """The post of `message` as it is now (a feed post, or the head of a queue post), in the server's language."""
        tr = server_tr(self.bot, guild_id)
        if self.hidden(message, kind):
            return [removed_post(tr, message, purged=not message.text or message.id in self._purged)], []
        lang = lang or (await self.bot.engine.tree_status(message.tree_id)).lang
        parent = link = None
        if message.parent_id is not None:
            parent = await self.bot.engine.message(message.parent_id)
            posts = await self.bot.settings.posts_of(parent.id)
            link = next((jump_url(p) for p in posts if p.guild_id == guild_id and p.kind is PostKind.FEED), None)
        colour = discord.Colour.red() if kind is PostKind.QUEUE else None
        return message_post(message, lang=lang, parent=parent, parent_link=link, colour=colour, tr=tr)

    # ------------------------------------------------------------------ new posts

    async def _post(
        self,
        channel_id: int,
        guild_id: int,
        message: MessageRow,
        kind: PostKind,
        *,
        lang: str | None = None,
        log_line: Told | None = None,
        view: ViewMaker | None = None,
    ) -> Post:
        tr = server_tr(self.bot, guild_id)
        embeds, files = await self.render(message, guild_id, kind, lang=lang)
        if log_line is not None:
            embeds = with_log_line(tr, embeds, log_line(tr), self.bot.clock.now())
        channel = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
        if view is None:
            sent = await channel.send(embeds=embeds, files=files, allowed_mentions=NO_MENTIONS)
        else:
            sent = await channel.send(embeds=embeds, files=files, view=view(tr), allowed_mentions=NO_MENTIONS)
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
        return await self._post(channel_id, guild_id, message, PostKind.FEED, lang=lang)

    async def enqueue(self, message_id: str, guild_id: int, why: Told, view: ViewMaker) -> Post | None:
        """Put a message in the server's mod queue, once; later flags and reports are noted on that post."""
        async with self._queue_lock:
            posts = await self.bot.settings.posts_of(message_id)
            if not any(p.kind is PostKind.QUEUE and p.guild_id == guild_id for p in posts):
                config = await self.bot.settings.get(guild_id)
                if config.mod_queue_channel_id is None:
                    return None
                message = await self.bot.engine.message(message_id)
                return await self._post(
                    config.mod_queue_channel_id, guild_id, message, PostKind.QUEUE, log_line=why, view=view
                )
        await self.note(message_id, guild_id, why)  # outside the queue lock: notes of a storm coalesce
        return None

    # ------------------------------------------------------------------ keeping posts true

    async def note(self, message_id: str, guild_id: int | None, line: Told) -> None:
        """Add a line to the moderation log of the message's queue posts (in one server, or all), each in its
        server's language."""
        at = self.bot.clock.now()
        for post in await self.bot.settings.posts_of(message_id):
            if post.kind is not PostKind.QUEUE or guild_id not in (None, post.guild_id):
                continue
            waiting = self._waiting.get(post.discord_message_id)
            if waiting is not None:  # an edit of this post waits for its lock already: it takes this line too
                waiting.append((line, at))
                continue
            lines = self._waiting[post.discord_message_id] = [(line, at)]
            tr = server_tr(self.bot, post.guild_id)
            try:
                async with self._editing(post) as partial:
                    del self._waiting[post.discord_message_id]  # lines from now on make the next edit
                    embeds = (await partial.fetch()).embeds
                    for told, when in lines:
                        embeds = with_log_line(tr, embeds, told(tr), when)
                    await partial.edit(embeds=embeds, allowed_mentions=NO_MENTIONS)
            finally:  # cancelled while waiting for the lock: the lines gathered so far are given up with it
                if self._waiting.get(post.discord_message_id) is lines:
                    del self._waiting[post.discord_message_id]

    async def refresh(self, message_ids: Iterable[str]) -> None:
        """Show each message as it now is in every post about it (after a deletion or a restore)."""
        for message_id in message_ids:
            for post in await self.bot.settings.posts_of(message_id):
                async with self._editing(post) as partial:
                    await self._rerender(post, partial)

    async def remove(self, message_ids: Iterable[str]) -> None:
        """A member's data was deleted: every post about their messages becomes a notice without their text.
        Called by the purge event and by the privacy hook; a post already cleared is left alone."""
        ids = list(message_ids)
        self._purged.update(ids)
        for message_id in ids:
            for post in await self.bot.settings.posts_of(message_id):
                async with self._editing(post) as partial:
                    if post.discord_message_id not in self._cleared:
                        await self._rerender(post, partial)
                        self._cleared.add(post.discord_message_id)

    async def _rerender(self, post: Post, partial: discord.PartialMessage) -> None:
        """Re-render a post from the message's current state, keeping a queue post's moderation log."""
        message = await self.bot.engine.message(post.message_id)
        kept = log_embeds((await partial.fetch()).embeds) if post.kind is PostKind.QUEUE else []
        embeds, files = await self.render(message, post.guild_id, post.kind)
        if is_removed(embeds):  # nothing left to act on: no buttons, no attachment with the text
            await partial.edit(embeds=[*embeds, *kept], attachments=[], view=None, allowed_mentions=NO_MENTIONS)
        else:
            await partial.edit(embeds=[*embeds, *kept], attachments=files, allowed_mentions=NO_MENTIONS)

    @asynccontextmanager
    async def _editing(self, post: Post) -> AsyncIterator[discord.PartialMessage]:
        """Hold the post's lock while editing it; a post that is gone or out of reach is logged, not raised."""
        where = f"{post.kind} post {post.discord_message_id} (channel {post.channel_id})"
        channel = self.bot.get_partial_messageable(post.channel_id, guild_id=post.guild_id)
        async with POST_LOCKS.hold(post.discord_message_id):
            try:
                yield channel.get_partial_message(post.discord_message_id)
            except discord.NotFound:
                log.info("%s is gone; nothing to update", where)
            except discord.Forbidden as exc:
                log.warning("no permission to update %s: %s", where, exc)
            except (discord.HTTPException, DomainError) as exc:
                log.warning("could not update %s: %s", where, exc)

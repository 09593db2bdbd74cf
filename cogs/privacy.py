"""What each feature holds about a member, and deleting it (after Red-DiscordBot's `red_get_data_for_user` /
`red_delete_data_for_user`).

Every cog says what it holds about members in a class attribute, `member_data_held`: a sentence, or "" for
nothing. A cog that holds something implements `MemberDataHolder`:

    async def member_data(self, user_id: int) -> dict[str, Any]   what do you hold about this member?
    async def delete_member_data(self, user_id: int) -> None      delete it (after the engine's purge)

`/privacy` exports what every loaded holder answers and deletes through every one of them. A loaded cog that
declares nothing, or declares data without the two methods, is reported here (and fails
`tests/discord/test_privacy_hooks.py`).
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from discord.ext import commands

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.privacy")

DECLARATION = "member_data_held"
HOOKS = ("member_data", "delete_member_data")


@runtime_checkable
class MemberDataHolder(Protocol):
    member_data_held: ClassVar[str]

    async def member_data(self, user_id: int) -> dict[str, Any]: ...

    async def delete_member_data(self, user_id: int) -> None: ...


def declared(cog: commands.Cog) -> str | None:
    """What the cog says it holds about members ("" for nothing), or None when it says nothing."""
    held = getattr(type(cog), DECLARATION, None)
    return held if isinstance(held, str) else None


def problems(cog: commands.Cog) -> list[str]:
    """Why a cog does not answer for its members' data (empty when it does, or holds nothing)."""
    held = declared(cog)
    if held is None:
        return [f"{cog.qualified_name} does not declare `{DECLARATION}`"]
    if not held:
        return []
    return [
        f"{cog.qualified_name} holds {held} but has no async `{name}`"
        for name in HOOKS
        if not inspect.iscoroutinefunction(getattr(cog, name, None))
    ]


def holders(bot: Grove) -> list[MemberDataHolder]:
    """The loaded cogs that hold member data and answer for it; the others are logged."""
    found: list[MemberDataHolder] = []
    for cog in bot.cogs.values():
        if trouble := problems(cog):
            for line in trouble:
                log.warning("privacy: %s", line)
        elif declared(cog) and isinstance(cog, MemberDataHolder):
            found.append(cog)
    return found


async def member_data(bot: Grove, user_id: int) -> dict[str, Any]:
    """Everything the loaded features hold about a member, merged (each feature answers for its own keys)."""
    data: dict[str, Any] = {}
    for holder in holders(bot):
        part = await holder.member_data(user_id)
        if clash := set(part) & set(data):
            raise RuntimeError(f"two features answer for {sorted(clash)} of a member's data")
        data.update(part)
    return data


async def delete_member_data(bot: Grove, user_id: int) -> list[str]:
    """Ask every loaded feature to delete what it holds about a member (after the engine's purge).
    One feature failing does not stop the others; returns the features that failed (logged)."""
    failed = []
    for holder in holders(bot):
        name = holder.qualified_name if isinstance(holder, commands.Cog) else type(holder).__name__
        try:
            await holder.delete_member_data(user_id)
        except Exception:
            log.exception("privacy: %s could not delete the data of member %s", name, user_id)
            failed.append(name)
    return failed

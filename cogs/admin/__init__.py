"""Server configuration for admins (Manage Server): language channels, moderator role, feed and queue channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import Grove


async def setup(bot: Grove) -> None:
    from cogs.admin.cog import Admin

    await bot.add_cog(Admin(bot))

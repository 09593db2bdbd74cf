"""Gateway and REST payload factories shaped after discord.py 2.7.1's TypedDicts (``discord/types/*.py``).

Every raw Discord dict the harness builds comes from here, so a discord.py upgrade breaks in one place.
Snowflakes are strings and permissions are decimal strings, as Discord sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from discord.utils import time_snowflake

Json = dict[str, Any]

APP_ID = 1_100_000_000_000_000_001
BOT_ID = APP_ID  # a bot user shares its application's id
OWNER_ID = 1_100_000_000_000_000_002
GUILD_ID = 1_100_000_000_000_000_100
CHANNEL_ID = 1_100_000_000_000_000_200  # "general", the default channel of `guild()`

PERMS_MEMBER: int = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    read_message_history=True,
    add_reactions=True,
    embed_links=True,
    attach_files=True,
    use_external_emojis=True,
    use_application_commands=True,
    change_nickname=True,
    create_instant_invite=True,
    connect=True,
    speak=True,
).value
PERMS_MODERATOR: int = (
    PERMS_MEMBER
    | discord.Permissions(
        manage_messages=True, manage_threads=True, kick_members=True, moderate_members=True, mute_members=True
    ).value
)
PERMS_ADMIN: int = (
    PERMS_MODERATOR
    | discord.Permissions(
        manage_guild=True, manage_roles=True, manage_channels=True, ban_members=True, manage_webhooks=True
    ).value
)
PERMS_BOT: int = PERMS_MODERATOR  # app_permissions in interaction payloads

_last_id = 0


def snowflake() -> int:
    """A fresh, strictly increasing snowflake for *now*: ``Interaction.is_expired()`` reads the time from the id."""
    global _last_id
    _last_id = max(_last_id + 1, time_snowflake(datetime.now(UTC)))
    return _last_id


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Person:
    """A guild member (or DM user) as the harness sees them."""

    id: int
    name: str
    permissions: int = PERMS_MEMBER
    roles: tuple[int, ...] = ()
    bot: bool = False
    nick: str | None = field(default=None, compare=False)


def user(id: int, name: str, *, bot: bool = False) -> Json:
    return {
        "id": str(id),
        "username": name,
        "discriminator": "0",
        "global_name": None if bot else name,
        "avatar": None,
        "bot": bot,
        "system": False,
        "public_flags": 0,
    }


def bot_user() -> Json:
    return user(BOT_ID, "Grove", bot=True) | {"verified": True, "mfa_enabled": False, "flags": 0, "email": None}


def application(*, id: int = APP_ID, name: str = "Grove") -> Json:
    """What ``GET /oauth2/applications/@me`` returns (enough for ``AppInfo``)."""
    return {
        "id": str(id),
        "name": name,
        "icon": None,
        "description": "Grove (fake)",
        "rpc_origins": [],
        "bot_public": False,
        "bot_require_code_grant": False,
        "bot": bot_user(),
        "owner": user(OWNER_ID, "owner"),
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": 1,
        "integration_types_config": {"0": {}},
    }


def member(
    user_id: int,
    name: str,
    *,
    roles: Iterable[int] = (),
    permissions: int | None = PERMS_MEMBER,
    bot: bool = False,
    nick: str | None = None,
    with_user: bool = True,
) -> Json:
    """A guild member. ``permissions`` is only present in interaction payloads; pass None to omit it."""
    data: Json = {
        "roles": [str(r) for r in roles],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,  # required since 2.7 (KeyError otherwise)
        "nick": nick,
        "avatar": None,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(user_id, name, bot=bot)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def person_member(p: Person, *, permissions: bool = True, with_user: bool = True) -> Json:
    return member(
        p.id,
        p.name,
        roles=p.roles,
        permissions=p.permissions if permissions else None,
        bot=p.bot,
        nick=p.nick,
        with_user=with_user,
    )


def role(id: int, name: str, permissions: int = 0, *, position: int = 1, color: int = 0) -> Json:
    return {
        "id": str(id),
        "name": name,
        "color": color,
        "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "position": position,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": True,
        "flags": 0,
        "icon": None,
        "unicode_emoji": None,
    }


def text_channel(
    id: int, guild_id: int = GUILD_ID, name: str = "general", *, position: int = 0, parent_id: int | None = None
) -> Json:
    return {
        "id": str(id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None if parent_id is None else str(parent_id),
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "default_auto_archive_duration": 1440,
        "flags": 0,
    }


def dm_channel(id: int, recipient: Json) -> Json:
    return {"id": str(id), "type": 1, "last_message_id": None, "recipients": [recipient], "flags": 0}


def guild(
    id: int = GUILD_ID,
    *,
    name: str = "Grove Test Guild",
    channels: Sequence[Json] | None = None,
    roles: Sequence[Json] = (),
    members: Sequence[Json] = (),
    owner_id: int = OWNER_ID,
    locale: str = "en-US",
) -> Json:
    """A full GUILD_CREATE payload. Always holds @everyone (id = guild id) and the bot as a member."""
    if channels is None:
        channels = [text_channel(CHANNEL_ID, id, "general")]
    everyone = role(id, "@everyone", PERMS_MEMBER, position=0)
    all_roles = [everyone, *(r for r in roles if r["id"] != str(id))]
    all_members = list(members)
    if not any(m["user"]["id"] == str(BOT_ID) for m in all_members):
        all_members.append(member(BOT_ID, "Grove", permissions=None, bot=True))
    return {
        "id": str(id),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": all_roles,
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": locale,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "max_members": 500000,
        "max_video_channel_users": 25,
        # GUILD_CREATE-only fields
        "joined_at": "2024-01-01T00:00:00+00:00",
        "large": False,
        "unavailable": False,
        "member_count": len(all_members),
        "voice_states": [],
        "members": all_members,
        "channels": [dict(c, guild_id=str(id)) for c in channels],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


# --- interactions -------------------------------------------------------------------------------------------------


def interaction(
    type_: int,
    data: Json,
    person: Person,
    *,
    guild_id: int | None = GUILD_ID,
    channel: Json | None = None,
    channel_id: int = CHANNEL_ID,
    message: Json | None = None,
    interaction_id: int | None = None,
    token: str | None = None,
    locale: str = "en-US",
    guild_locale: str = "en-US",
    app_permissions: int = PERMS_BOT,
) -> Json:
    """The common INTERACTION_CREATE envelope. ``guild_id=None`` makes it a bot DM (context 1)."""
    iid = interaction_id or snowflake()
    payload: Json = {
        "id": str(iid),
        "application_id": str(APP_ID),
        "type": type_,
        "token": token or f"tok-{iid}",
        "version": 1,
        "data": data,
        "app_permissions": str(app_permissions),
        "locale": locale,
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild_id is not None:
        chan = channel or text_channel(channel_id, guild_id)
        payload |= {
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": guild_locale, "features": []},
            "guild_locale": guild_locale,
            "channel": chan | {"permissions": str(person.permissions)},
            "channel_id": chan["id"],
            "member": person_member(person),
            "context": 0,
            "authorizing_integration_owners": {"0": str(guild_id)},
        }
    else:
        chan = channel or dm_channel(channel_id, user(person.id, person.name, bot=person.bot))
        payload |= {
            "channel": chan,
            "channel_id": chan["id"],
            "user": user(person.id, person.name, bot=person.bot),
            "context": 1,
            "authorizing_integration_owners": {"0": "0"},
        }
    if message is not None:
        payload["message"] = message
    return payload


def _command_data(
    name: str, options: Sequence[Json], resolved: Json | None, command_id: int | None, command_guild_id: int | None
) -> Json:
    data: Json = {"id": str(command_id or snowflake()), "name": name, "type": 1, "options": list(options)}
    if resolved:
        data["resolved"] = resolved
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return data


def slash(
    name: str,
    person: Person,
    *,
    options: Sequence[Json] = (),
    resolved: Json | None = None,
    command_id: int | None = None,
    command_guild_id: int | None = None,
    **kw: Any,
) -> Json:
    """A chat-input command (type 2). ``options`` are raw option dicts; set ``command_guild_id`` for guild commands."""
    return interaction(2, _command_data(name, options, resolved, command_id, command_guild_id), person, **kw)


def autocomplete(
    name: str,
    person: Person,
    *,
    options: Sequence[Json] = (),
    resolved: Json | None = None,
    command_id: int | None = None,
    command_guild_id: int | None = None,
    **kw: Any,
) -> Json:
    """An autocomplete request (type 4); exactly one option (possibly nested) carries ``"focused": True``."""
    return interaction(4, _command_data(name, options, resolved, command_id, command_guild_id), person, **kw)


def option(name: str, type_: int, value: Any = None, *, options: Sequence[Json] | None = None) -> Json:
    """A command option: value options (3-11) or subcommand (1) / subcommand group (2) with ``options``."""
    if type_ in (1, 2):
        return {"name": name, "type": type_, "options": list(options or ())}
    return {"name": name, "type": type_, "value": value}


def component(
    message: Json,
    custom_id: str,
    person: Person,
    *,
    component_type: int = 2,
    values: Sequence[str] | None = None,
    resolved: Json | None = None,
    **kw: Any,
) -> Json:
    """A component click (type 3) on ``message``, the message JSON the bot sent (ViewStore looks up its id)."""
    data: Json = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
    if resolved:
        data["resolved"] = resolved
    kw.setdefault("channel_id", int(message["channel_id"]))
    return interaction(3, data, person, message=message, **kw)


def modal_submit(
    custom_id: str, person: Person, components: Sequence[Json], *, resolved: Json | None = None, **kw: Any
) -> Json:
    """A modal submit (type 5). ``components`` are already in submit shape (see ``Simulator.submit_modal``)."""
    data: Json = {"custom_id": custom_id, "components": list(components)}
    if resolved:
        data["resolved"] = resolved
    return interaction(5, data, person, **kw)


def resolved_for(
    *,
    people: Iterable[Person] = (),
    guild: bool = True,
    roles: Iterable[Json] = (),
    channels: Iterable[Json] = (),
    attachments: Iterable[Json] = (),
    guild_members: Iterable[int] | None = None,
) -> Json:
    """The ``resolved`` block of an interaction. In a server, Discord adds member data for the resolved users who
    are members of it (`guild_members`; None: all of them)."""
    out: Json = {}
    people = list(people)
    if people:
        out["users"] = {str(p.id): user(p.id, p.name, bot=p.bot) for p in people}
        if guild:
            inside = None if guild_members is None else set(guild_members)
            out["members"] = {
                str(p.id): person_member(p, with_user=False) for p in people if inside is None or p.id in inside
            }
    if roles := list(roles):
        out["roles"] = {r["id"]: r for r in roles}
    if channels := list(channels):
        out["channels"] = {c["id"]: c for c in channels}
    if attachments := list(attachments):
        out["attachments"] = {a["id"]: a for a in attachments}
    return out


def resolved_channel(channel: Json, permissions: int = PERMS_MEMBER) -> Json:
    keys = ("id", "type", "name", "parent_id", "topic", "position", "nsfw", "rate_limit_per_user", "last_message_id")
    return {k: channel.get(k) for k in keys} | {"permissions": str(permissions), "flags": 0}


def attachment(id: int, filename: str, size: int, url: str, *, content_type: str | None = None) -> Json:
    return {
        "id": str(id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
        "flags": 0,
    }


# --- reactions ----------------------------------------------------------------------------------------------------


def emoji_payload(emoji: str | Mapping[str, Any]) -> Json:
    """``"✅"`` → unicode emoji; ``"name:123"`` or ``{"name":..,"id":..}`` → custom emoji."""
    if isinstance(emoji, Mapping):
        return dict(emoji)
    if ":" in emoji:
        name, _, eid = emoji.rpartition(":")
        return {"name": name, "id": eid, "animated": False}
    return {"name": emoji, "id": None}


def reaction(
    message_id: int,
    channel_id: int,
    emoji: str | Mapping[str, Any],
    person: Person,
    *,
    guild_id: int | None = GUILD_ID,
    remove: bool = False,
    burst: bool = False,
    message_author_id: int | None = BOT_ID,
) -> Json:
    """MESSAGE_REACTION_ADD (or _REMOVE with ``remove=True``); guild adds carry ``member``."""
    data: Json = {
        "user_id": str(person.id),
        "channel_id": str(channel_id),
        "message_id": str(message_id),
        "emoji": emoji_payload(emoji),
        "burst": burst,
        "type": 1 if burst else 0,  # required by RawReactionActionEvent (KeyError otherwise)
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    if not remove:
        data["burst_colors"] = []
        if message_author_id is not None:
            data["message_author_id"] = str(message_author_id)
        if guild_id is not None:
            data["member"] = person_member(person, permissions=False)
    return data


# --- gateway ------------------------------------------------------------------------------------------------------


def ready(*, session_id: str, resume_gateway_url: str, guild_ids: Iterable[int]) -> Json:
    return {
        "v": 10,
        "user": bot_user(),
        "session_id": session_id,
        "resume_gateway_url": resume_gateway_url,
        "application": {"id": str(APP_ID), "flags": 0},
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "shard": [0, 1],
    }

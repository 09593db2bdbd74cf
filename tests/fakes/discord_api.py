"""A fake Discord REST API (aiohttp, 127.0.0.1, random port) that records calls and keeps message state."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
from aiohttp import BodyPartReader, web

from tests.fakes import payloads
from tests.fakes.payloads import Json

Handler = Callable[["Call", re.Match[str]], Any]

EPHEMERAL = 64
LOADING = 128


@dataclass
class Call:
    """One request the bot made. ``path`` is relative to /api/v10 and percent-decoded."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 0
    message_id: int | None = None  # the message this call created or edited, if any


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly: discord.py decodes nothing else (a charset breaks it)."""
    return web.Response(
        status=status, body=json.dumps(obj).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


def error(status: int, message: str, code: int = 0) -> web.Response:
    return json_response({"message": message, "code": code}, status)


def rate_limited(retry_after: float = 0.01, *, global_: bool = False) -> web.Response:
    """A 429 discord.py retries: it needs the ``Via`` header and a JSON body, or it treats it as a Cloudflare ban."""
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}
    return json_response(body, 429, {"Via": "1.1 google", "Retry-After": str(retry_after)})


@contextmanager
def use_route_base(url: str) -> Iterator[None]:
    """Point every discord.py REST route (including webhooks and interaction callbacks) at ``url``."""
    old = discord.http.Route.BASE
    discord.http.Route.BASE = url
    try:
        yield
    finally:
        discord.http.Route.BASE = old


def message_text(message: Json | None) -> str:
    """The visible text of a message: content, embeds and Components V2 text displays, one piece per line."""
    if not message:
        return ""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("author", {}).get("name", ""), embed.get("title", ""), embed.get("description", "")]
        for f in embed.get("fields", []):
            parts += [f.get("name", ""), f.get("value", "")]
        parts.append(embed.get("footer", {}).get("text", ""))
    parts += [c.get("content", "") for c in walk_components(message.get("components") or []) if c.get("type") == 10]
    return "\n".join(p for p in parts if p)


def walk_components(components: list[Json]) -> Iterator[Json]:
    """Every component, depth first: action rows, containers, sections (and accessories), labels."""
    for c in components:
        yield c
        yield from walk_components(c.get("components") or [])
        for key in ("accessory", "component"):
            if key in c:
                yield from walk_components([c[key]])


class FakeDiscord:
    """The REST half of a fake Discord. It never touches ``Route.BASE``; see ``use_route_base``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.unknown: list[Call] = []  # requests no route matched (answered 404)
        self.errors: list[tuple[Call, Exception]] = []  # handlers that raised (answered 400, not 500: no retries)
        self.messages: dict[int, Json] = {}
        self.deleted: dict[int, Json] = {}
        self.interactions: dict[int, Json] = {}  # interaction id -> INTERACTION_CREATE payload
        self.responses: dict[int, int] = {}  # interaction id -> message id of its response (types 4, 5, 6, 7)
        self.callbacks: dict[int, Call] = {}  # interaction id -> its callback call
        self.choices: dict[int, list[Json]] = {}  # interaction id -> autocomplete choices
        self.commands: dict[int | None, list[Json]] = {}  # guild id (None: global) -> last synced commands
        self.channels: dict[int, Json] = {}
        self.users: dict[int, Json] = {}
        self.members: dict[tuple[int, int], Json] = {}
        self.attachments: dict[int, bytes] = {}
        self.gateway_url: str | None = None
        self.too_late = False  # when set, every interaction callback fails as Discord's does after 3 s (10062)
        self._tokens: dict[str, int] = {}  # token -> interaction id
        self._original: dict[str, int] = {}  # token -> message id of @original
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self._dm_channels: dict[int, int] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._runner: web.AppRunner | None = None
        self._handled = asyncio.Event()  # set after every request
        self.port = 0
        self._install_defaults()

    # --- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_get("/cdn/attachments/{id}/{name}", self._cdn)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    # --- public helpers -------------------------------------------------------------------------------------------

    def know_guild(self, guild: Json) -> None:
        """Serve a guild's channels, users and members (from its GUILD_CREATE payload) as Discord's REST API would."""
        guild_id = int(guild["id"])
        self.channels.update({int(c["id"]): c for c in guild["channels"]})
        for m in guild["members"]:
            self.users[int(m["user"]["id"])] = m["user"]
            self.members[(guild_id, int(m["user"]["id"]))] = m

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Add or override a route; later registrations win. The handler gets ``(call, match)`` and returns a
        JSON-able object, None (204), a ``(status, body)`` tuple, a ``web.Response`` (e.g. ``rate_limited()``) or
        ``NotImplemented`` to fall through to the routes registered before it; it may be async."""

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(pattern), handler))
            return handler

        return register

    def find(self, method: str, path_regex: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.upper() and re.search(path_regex, c.path)]

    def clear(self) -> None:
        self.calls.clear()
        self.unknown.clear()
        self.errors.clear()

    def assert_clean(self) -> None:
        """No request hit an unknown route and no route handler raised."""
        problems = [f"unknown to the fake (404): {c.method} {c.path}" for c in self.unknown]
        problems += [f"handler error on {c.method} {c.path}: {e!r}" for c, e in self.errors]
        if problems:
            raise AssertionError("fake Discord saw problems:\n" + "\n".join(problems))

    def message(self, id: int | str) -> Json:
        try:
            return self.messages[int(id)]
        except KeyError:
            raise AssertionError(f"the fake holds no message {id} (deleted: {int(id) in self.deleted})") from None

    async def wait_for(self, method: str, path_regex: str, *, count: int = 1, timeout: float = 5.0) -> list[Call]:  # noqa: ASYNC109
        """Wait until at least ``count`` matching calls were recorded (for flows not driven by the Simulator)."""
        async with asyncio.timeout(timeout):
            while len(found := self.find(method, path_regex)) < count:
                self._handled.clear()
                await self._handled.wait()
        return found

    def snowflake(self) -> int:
        return payloads.snowflake()

    def register_interaction(self, payload: Json) -> None:
        """Remember an interaction the bot is about to receive, so responses know their channel and message."""
        iid = int(payload["id"])
        self.interactions[iid] = payload
        self._tokens[payload["token"]] = iid

    def dm_channel(self, user_id: int) -> Json:
        """The bot's DM channel with ``user_id`` (created once, like Discord)."""
        if user_id not in self._dm_channels:
            cid = self._dm_channels[user_id] = self.snowflake()
            recipient = self.users.get(user_id) or payloads.user(user_id, f"user{user_id}")
            self.channels[cid] = payloads.dm_channel(cid, recipient)
        return self.channels[self._dm_channels[user_id]]

    def command_id(self, name: str, guild_id: int | None = None) -> int:
        """The id Discord gave the synced command (stable per name), or a fresh stable one if never synced."""
        key = (guild_id, name)
        if key not in self._command_ids:
            self._command_ids[key] = self.snowflake()
        return self._command_ids[key]

    # --- request plumbing -----------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        payload: Any = None
        files: list[tuple[str, bytes]] = []
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append((part.filename or part.name or "file", bytes(await part.read())))
        elif request.can_read_body:
            raw = await request.read()
            payload = json.loads(raw) if raw else None
        call = Call(request.method, path, dict(request.query), payload, files)
        self.calls.append(call)
        try:
            return await self._dispatch(call)
        except Exception as exc:
            self.errors.append((call, exc))
            call.status = 400
            return error(400, f"fake handler raised {exc!r}")
        finally:
            self._handled.set()

    async def _dispatch(self, call: Call) -> web.Response:
        path = call.path
        for method, pattern, handler in reversed(self._routes):
            if method in (call.method, "*") and (match := pattern.search(path)):
                result = handler(call, match)
                if isinstance(result, Awaitable):
                    result = await result
                if result is NotImplemented:  # the override passes: try older routes
                    continue
                response = self._to_response(result)
                call.status = response.status
                return response
        self.unknown.append(call)
        call.status = 404
        return error(404, "Unknown route (fake)")

    @staticmethod
    def _to_response(result: Any) -> web.Response:
        if isinstance(result, web.Response):
            return result
        if result is None:
            return web.Response(status=204)
        if isinstance(result, tuple):
            status, body = result
            return json_response(body, status)
        return json_response(result)

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.attachments.get(int(request.match_info["id"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})

    # --- messages -------------------------------------------------------------------------------------------------

    def _attachments(self, body: Json, files: list[tuple[str, bytes]], existing: list[Json]) -> list[Json]:
        keep = body.get("attachments")
        kept_ids = {str(a.get("id")) for a in keep or []}
        out = list(existing) if keep is None else [a for a in existing if a["id"] in kept_ids]
        for name, data in files:
            aid = self.snowflake()
            self.attachments[aid] = data
            url = f"{self.base_url}/cdn/attachments/{aid}/{name}"
            out.append(payloads.attachment(aid, name, len(data), url, content_type=mimetypes.guess_type(name)[0]))
        return out

    def _new_message(
        self, channel_id: int, body: Json, files: list[tuple[str, bytes]], *, type_: int = 0, webhook: bool = False
    ) -> Json:
        mid = self.snowflake()
        msg: Json = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": 19 if body.get("message_reference") and type_ == 0 else type_,
            "author": payloads.user(payloads.BOT_ID, "Grove", bot=True),
            "content": body.get("content") or "",
            "timestamp": payloads.now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(body, files, []),
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "reactions": [],
            "pinned": False,
            "flags": body.get("flags") or 0,
        }
        if ref := body.get("message_reference"):
            msg["message_reference"] = ref
        if webhook:
            msg["webhook_id"] = msg["application_id"] = str(payloads.APP_ID)
        self.messages[mid] = msg
        return msg

    def _edit(self, mid: int, body: Json, files: list[tuple[str, bytes]]) -> Json:
        msg = self.messages[mid]
        for key, default in (("content", ""), ("embeds", []), ("components", [])):
            if key in body:
                msg[key] = body[key] if body[key] is not None else default
        flags = msg["flags"] & ~LOADING
        if body.get("flags") is not None:
            flags = body["flags"] | (flags & EPHEMERAL)  # ephemerality can't change
        msg["flags"] = flags
        if "attachments" in body or files:
            msg["attachments"] = self._attachments(body, files, msg["attachments"])
        msg["edited_timestamp"] = payloads.now_iso()
        return msg

    def _delete(self, mid: int) -> None:
        self.deleted[mid] = self.messages.pop(mid)

    def _channel_of_token(self, token: str) -> int:
        inter = self.interactions.get(self._tokens.get(token, 0), {})
        return int(inter.get("channel_id") or payloads.CHANNEL_ID)

    # --- default routes -------------------------------------------------------------------------------------------

    def _install_defaults(self) -> None:
        r = self.route

        def unknown_message() -> web.Response:
            return error(404, "Unknown Message", 10008)

        r("GET", r"^/users/@me$")(lambda c, m: payloads.bot_user())
        r("GET", r"^/(oauth2/)?applications/@me$")(lambda c, m: payloads.application())
        r("GET", r"^/gateway(/bot)?$")(
            lambda c, m: {
                "url": self.gateway_url or "ws://127.0.0.1:1",
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            }
        )

        @r("GET", r"^/users/(\d+)$")
        def get_user(call: Call, m: re.Match[str]) -> Any:
            return self.users.get(int(m[1])) or error(404, "Unknown User", 10013)

        @r("GET", r"^/guilds/(\d+)/members/(\d+)$")
        def get_member(call: Call, m: re.Match[str]) -> Any:
            return self.members.get((int(m[1]), int(m[2]))) or error(404, "Unknown Member", 10007)

        @r("GET", r"^/channels/(\d+)$")
        def get_channel(call: Call, m: re.Match[str]) -> Any:
            return self.channels.get(int(m[1])) or error(404, "Unknown Channel", 10003)

        r("POST", r"^/users/@me/channels$")(lambda c, m: self.dm_channel(int(c.json["recipient_id"])))

        # interaction callbacks
        @r("POST", r"^/interactions/(\d+)/([^/]+)/callback$")
        def callback(call: Call, m: re.Match[str]) -> Any:
            iid, token = int(m[1]), m[2]
            if self.too_late:
                return error(404, "Unknown interaction", 10062)
            if iid in self.callbacks:
                return error(400, "Interaction has already been acknowledged.", 40060)
            self.callbacks[iid] = call
            inter = self.interactions.get(iid, {})
            body = call.json or {}
            kind, data = body.get("type"), body.get("data") or {}
            channel_id = int(inter.get("channel_id") or payloads.CHANNEL_ID)
            msg: Json | None = None
            msg_type = 20 if inter.get("type") == 2 else 0  # CHAT_INPUT_COMMAND or DEFAULT
            if kind == 4:
                msg = self._new_message(channel_id, data, call.files, type_=msg_type, webhook=True)
            elif kind == 5:
                flags = (data.get("flags") or 0) & EPHEMERAL | LOADING
                msg = self._new_message(channel_id, {"flags": flags}, [], type_=msg_type, webhook=True)
            elif kind in (6, 7):
                target = int(inter.get("message", {}).get("id", 0))
                if target not in self.messages:
                    self.unknown.append(call)
                    return error(404, "Unknown Message (fake: interaction not registered)", 10008)
                msg = self._edit(target, data, call.files) if kind == 7 else self.messages[target]
            elif kind == 8:
                self.choices[iid] = data.get("choices", [])
            if msg is not None:
                self.responses[iid] = self._original[token] = call.message_id = int(msg["id"])
            if call.query.get("with_response") not in ("1", "true", "True"):
                return None
            resource: Json = {"type": kind}
            if msg is not None and kind != 6:
                resource["message"] = msg
            return {
                "interaction": {
                    "id": str(iid),
                    "type": inter.get("type", 2),
                    "activity_instance_id": None,
                    "response_message_id": msg and msg["id"],
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(msg and msg["flags"] & EPHEMERAL),
                },
                "resource": resource,
            }

        # followups
        @r("POST", r"^/webhooks/(\d+)/([^/]+)$")
        def followup(call: Call, m: re.Match[str]) -> Any:
            token, body = m[2], call.json or {}
            original = self.messages.get(self._original.get(token, 0))
            if original is not None and original["flags"] & LOADING:  # the first followup fills the "thinking" one
                msg = self._edit(
                    int(original["id"]), body | {"flags": (body.get("flags") or 0) & ~EPHEMERAL}, call.files
                )
            else:
                msg = self._new_message(self._channel_of_token(token), body, call.files, webhook=True)
            call.message_id = int(msg["id"])
            return msg if call.query.get("wait") in ("1", "true", "True") else None

        @r("*", r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$")
        def webhook_message(call: Call, m: re.Match[str]) -> Any:
            mid = self._original.get(m[2], 0) if m[3] == "@original" else int(m[3])
            if mid not in self.messages:
                return unknown_message()
            return self._message_op(call, mid)

        # channel messages
        @r("POST", r"^/channels/(\d+)/messages$")
        def create_message(call: Call, m: re.Match[str]) -> Any:
            msg = self._new_message(int(m[1]), call.json or {}, call.files)
            call.message_id = int(msg["id"])
            return msg

        @r("*", r"^/channels/(\d+)/messages/(\d+)$")
        def channel_message(call: Call, m: re.Match[str]) -> Any:
            mid = int(m[2])
            if mid not in self.messages or self.messages[mid]["channel_id"] != m[1]:
                return unknown_message()
            return self._message_op(call, mid)

        r("PUT", r"^/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/(@me|\d+)$")(lambda c, m: None)
        r("DELETE", r"^/channels/(\d+)/messages/(\d+)/reactions(/[^/]+(/(@me|\d+))?)?$")(lambda c, m: None)

        # application commands
        @r("*", r"^/applications/(\d+)(?:/guilds/(\d+))?/commands$")
        def commands(call: Call, m: re.Match[str]) -> Any:
            gid = int(m[2]) if m[2] else None
            if call.method == "GET":
                return self.commands.get(gid, [])
            if call.method != "PUT":
                return error(405, "Method Not Allowed (fake)")
            self.commands[gid] = [self._echo_command(c, m[1], gid) for c in call.json or []]
            return self.commands[gid]

    def _message_op(self, call: Call, mid: int) -> Any:
        if call.method == "GET":
            return self.messages[mid]
        if call.method == "PATCH":
            call.message_id = mid
            return self._edit(mid, call.json or {}, call.files)
        if call.method == "DELETE":
            self._delete(mid)
            return None
        return error(405, "Method Not Allowed (fake)")

    def _echo_command(self, cmd: Json, app_id: str, guild_id: int | None) -> Json:
        perms = cmd.get("default_member_permissions")
        out = {
            "type": 1,
            "description": "",
            "options": [],
            "nsfw": False,
            "dm_permission": True,
            "contexts": None,
            "integration_types": [0],
        } | cmd
        out |= {
            "id": str(self.command_id(cmd["name"], guild_id)),
            "application_id": app_id,
            "version": str(self.snowflake()),
            "default_member_permissions": None if perms is None else str(perms),
        }
        if guild_id is not None:
            out["guild_id"] = str(guild_id)
        return out


# --- checks over recorded calls -----------------------------------------------------------------------------------

MESSAGE_WRITES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("POST", re.compile(r"^/channels/\d+/messages$")),
    ("PATCH", re.compile(r"^/channels/\d+/messages/\d+$")),
    ("POST", re.compile(r"^/webhooks/\d+/[^/]+$")),  # interaction followups
    ("PATCH", re.compile(r"^/webhooks/\d+/[^/]+/messages/(@original|\d+)$")),
    ("POST", re.compile(r"^/interactions/\d+/[^/]+/callback$")),  # only types 4 (message) and 7 (update) write one
)
PINGS = ("everyone", "roles", "users")


def message_write(call: Call) -> Json | None:
    """The message body a call creates or edits (for a callback, its ``data``), or None if it writes no message."""
    if not any(call.method == m and p.search(call.path) for m, p in MESSAGE_WRITES):
        return None
    body = call.json if isinstance(call.json, dict) else {}
    if call.path.endswith("/callback"):
        return (body.get("data") or {}) if body.get("type") in (4, 7) else None
    return body


def mention_leaks(calls: list[Call]) -> list[str]:
    """Calls that create or edit a message without ``allowed_mentions`` forbidding every ping: @everyone/@here,
    roles, users and the replied-to user (discord.py sends ``{"parse": []}`` for ``AllowedMentions.none()``)."""
    leaks = []
    for call in calls:
        body = message_write(call)
        if body is None:
            continue
        allowed = body.get("allowed_mentions")
        if not isinstance(allowed, dict):
            leaks.append(f"{call.method} {call.path}: no allowed_mentions")
        elif set(allowed.get("parse") or ()) & set(PINGS) or allowed.get("users") or allowed.get("roles"):
            leaks.append(f"{call.method} {call.path}: allowed_mentions {allowed}")
        elif allowed.get("replied_user"):
            leaks.append(f"{call.method} {call.path}: pings the replied-to user")
    return leaks

"""Drive a logged-in bot with raw gateway payloads through discord.py's own ``ConnectionState.parse_*`` functions."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import itertools
import os
import weakref
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import AppCommandOptionType as Opt
from discord import app_commands
from discord.ext import commands

from tests.fakes import payloads
from tests.fakes.discord_api import EPHEMERAL, Call, FakeDiscord, message_text, walk_components
from tests.fakes.payloads import PERMS_MEMBER, Json, Person

__all__ = ["Exchange", "Person", "Simulator"]

SELECT_TYPES = (3, 5, 6, 7, 8)


@dataclass
class Exchange:
    """What one simulated action caused: the calls the bot made and the messages they touched."""

    fake: FakeDiscord = field(repr=False)
    payload: Json = field(repr=False)  # the interaction (or reaction) payload that was dispatched
    calls: list[Call]

    @property
    def interaction_id(self) -> int | None:
        return int(self.payload["id"]) if "token" in self.payload else None

    @property
    def callback(self) -> Call | None:
        return self.fake.callbacks.get(self.interaction_id or 0)

    @property
    def kind(self) -> int | None:
        """The callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal."""
        return self.callback.json["type"] if self.callback else None

    @property
    def message(self) -> Json | None:
        """The message the response created or updated (current state), or None."""
        return self.fake.messages.get(self.fake.responses.get(self.interaction_id or 0, 0))

    @property
    def modal(self) -> Json | None:
        return self.callback.json["data"] if self.callback and self.kind == 9 else None

    @property
    def choices(self) -> list[Json] | None:
        return self.fake.choices.get(self.interaction_id or 0)

    @property
    def followups(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.startswith("/webhooks/")]

    @property
    def followup_messages(self) -> list[Json]:
        return [m for c in self.followups if c.message_id and (m := self.fake.messages.get(c.message_id))]

    @property
    def created(self) -> list[Json]:
        """Messages created during the exchange by a channel POST or followup (current state)."""
        ids = [c.message_id for c in self.calls if c.method == "POST" and c.message_id and c is not self.callback]
        return [self.fake.messages[i] for i in ids if i in self.fake.messages]

    @property
    def touched(self) -> list[Json]:
        """Every message created or edited during the exchange, response first (current state, deleted left out)."""
        ids = dict.fromkeys([self.fake.responses.get(self.interaction_id or 0), *(c.message_id for c in self.calls)])
        return [self.fake.messages[i] for i in ids if i in self.fake.messages]

    @property
    def ephemeral(self) -> bool:
        if self.message is not None:
            return bool(self.message["flags"] & EPHEMERAL)
        data = self.callback.json.get("data") if self.callback else None
        return bool(data and (data.get("flags") or 0) & EPHEMERAL)

    def text(self) -> str:
        """Visible text of every message touched: content, embed texts and Components V2 text displays."""
        return "\n".join(t for m in self.touched if (t := message_text(m)))

    def custom_ids(self) -> list[str]:
        """custom_ids of the components on the response message."""
        comps = (self.message or {}).get("components") or []
        return [c["custom_id"] for c in walk_components(comps) if "custom_id" in c]


class Simulator:
    """Feeds INTERACTION_CREATE, GUILD_CREATE and reaction payloads to a bot that ran ``await bot.login(...)``."""

    def __init__(self, bot: commands.Bot | discord.Client, fake: FakeDiscord, *, settle_timeout: float = 10.0) -> None:
        self.bot = bot
        self.fake = fake
        self.state = bot._connection
        self.state._chunk_guilds = False  # no gateway to request member chunks from
        self.settle_timeout = settle_timeout
        self.guild_id: int = payloads.GUILD_ID
        self.channel_id: int = payloads.CHANNEL_ID
        self.people: dict[int, Person] = {}
        self.roles: dict[int, Json] = {}
        self.channels: dict[int, Json] = {}
        self.ignored: list[Callable[[asyncio.Task[Any]], bool]] = []
        self._person_ids = itertools.count(100_000_000_000_001)
        self._baseline: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        with contextlib.suppress(RuntimeError):  # built outside a running loop: nothing to exclude
            self._baseline.update(asyncio.all_tasks())

    # --- world ----------------------------------------------------------------------------------------------------

    def member(
        self, name: str, perms: int = PERMS_MEMBER, roles: Iterable[int] = (), *, id: int | None = None
    ) -> Person:
        """A new person, known to the fake and, if the guild exists and the bot caches members, to its cache.

        ``perms`` are the permissions interactions carry; cache-computed ones (``guild_permissions``, as in
        reaction events) come from ``roles``."""
        person = Person(id or next(self._person_ids), name, perms, tuple(roles))
        self.people[person.id] = person
        self.fake.users[person.id] = payloads.user(person.id, name)
        self.fake.members[(self.guild_id, person.id)] = payloads.person_member(person, permissions=False)
        guild = self.bot.get_guild(self.guild_id)
        if guild and self.state.member_cache_flags.joined:  # as GUILD_CREATE: cached only with the members intent
            data = payloads.person_member(person, permissions=False)
            guild._add_member(discord.Member(data=data, guild=guild, state=self.state))  # type: ignore[arg-type]
        return person

    def create_guild(
        self,
        guild_id: int = payloads.GUILD_ID,
        channels: Sequence[Json] | None = None,
        roles: Sequence[Json] = (),
        *,
        name: str = "Grove Test Guild",
    ) -> discord.Guild:
        """GUILD_CREATE with the given channels (default: #general) and roles, plus every person made so far."""
        self.guild_id = guild_id
        members = [payloads.person_member(p, permissions=False) for p in self.people.values()]
        data = payloads.guild(guild_id, name=name, channels=channels, roles=roles, members=members)
        self.state.parse_guild_create(data)  # type: ignore[arg-type]
        self.roles = {int(r["id"]): r for r in data["roles"]}
        self.channels = {int(c["id"]): c for c in data["channels"]}
        self.fake.know_guild(data)
        self.channel_id = next(int(c["id"]) for c in data["channels"] if c["type"] == 0)
        guild = self.bot.get_guild(guild_id)
        assert guild is not None and guild in self.bot.guilds
        return guild

    def ignore(self, what: asyncio.Task[Any] | Callable[[asyncio.Task[Any]], bool]) -> None:
        """Make ``settle()`` ignore a long-lived task (or every task a predicate accepts)."""
        self.ignored.append(what.__eq__ if isinstance(what, asyncio.Task) else what)

    # --- actions --------------------------------------------------------------------------------------------------

    def build_slash(
        self,
        name: str,
        person: Person,
        *,
        sub: str | Sequence[str] | None = None,
        group: str | None = None,
        channel_id: int | None = None,
        guild: bool = True,
        options: Mapping[str, Any] | None = None,
        focused: str | None = None,
        **kw_options: Any,
    ) -> Json:
        """The type-2 (or, with ``focused``, type-4) payload for ``/name [group] [sub] option=value ...``."""
        path = name.split() + ([group] if group else []) + ([sub] if isinstance(sub, str) else list(sub or ()))
        guild_id = self.guild_id if guild else None
        command, command_guild_id = self._find_command(path, guild_id)
        values = {**(options or {}), **kw_options}
        opts, resolved = self._command_options(command, values, guild=guild, focused=focused)
        for depth, part in reversed(list(enumerate(path[1:], start=1))):
            opts = [payloads.option(part, 1 if depth == len(path) - 1 else 2, options=opts)]
        factory = payloads.autocomplete if focused else payloads.slash
        return factory(
            path[0],
            person,
            options=opts,
            resolved=resolved,
            command_id=self.fake.command_id(path[0], command_guild_id),
            command_guild_id=command_guild_id,
            interaction_id=self.fake.snowflake(),
            **self._where(channel_id, guild_id, person),
        )

    async def slash(
        self,
        name: str,
        person: Person,
        *,
        sub: str | Sequence[str] | None = None,
        group: str | None = None,
        channel_id: int | None = None,
        guild: bool = True,
        options: Mapping[str, Any] | None = None,
        **kw_options: Any,
    ) -> Exchange:
        """Run ``/name`` (``"config language-channel set"`` or ``name="config", sub=("language-channel", "set")``).

        Option values are typed from the command's parameters: pass a ``Person`` (or id) for users, ids for
        channels and roles, ``(filename, bytes)`` for attachments. Use ``options={...}`` for names that clash.
        """
        since = await self._begin()
        payload = self.build_slash(
            name, person, sub=sub, group=group, channel_id=channel_id, guild=guild, options=options, **kw_options
        )
        return await self.dispatch(payload, since=since)

    async def autocomplete(
        self,
        name: str,
        person: Person,
        focused: str,
        *,
        sub: str | Sequence[str] | None = None,
        group: str | None = None,
        guild: bool = True,
        **options: Any,
    ) -> list[Json]:
        """The choices the bot answers while ``person`` types ``options[focused]`` into that option."""
        since = await self._begin()
        options.setdefault(focused, "")
        payload = self.build_slash(name, person, sub=sub, group=group, guild=guild, focused=focused, options=options)
        exchange = await self.dispatch(payload, since=since)
        if exchange.choices is None:
            raise AssertionError(f"the bot did not answer autocomplete for /{name} {focused}; calls: {exchange.calls}")
        return exchange.choices

    async def click(
        self,
        message: Json | int | str,
        custom_id: str,
        person: Person,
        *,
        values: Sequence[Any] | None = None,
    ) -> Exchange:
        """Click a button (or pick ``values`` in a select) on a message the fake holds.

        Clicks started together with ``asyncio.gather`` carry the same message state, like a double click."""
        since = await self._begin()
        msg = self.fake.message(message["id"] if isinstance(message, dict) else message)
        comp = next((c for c in walk_components(msg["components"]) if c.get("custom_id") == custom_id), None)
        if comp is None:
            present = [c["custom_id"] for c in walk_components(msg["components"]) if "custom_id" in c]
            raise AssertionError(f"message {msg['id']} has no component {custom_id!r}; it has {present}")
        if comp.get("disabled"):
            raise AssertionError(f"component {custom_id!r} is disabled")
        ctype = comp["type"]
        if (ctype in SELECT_TYPES) != (values is not None):
            raise AssertionError(f"component {custom_id!r} has type {ctype}: pass values= for selects only")
        str_values, resolved = self._select_values(comp, values)
        channel_id = int(msg["channel_id"])
        guild_id = self._guild_of(channel_id)
        payload = payloads.component(
            copy.deepcopy(msg),
            custom_id,
            person,
            component_type=ctype,
            values=str_values,
            resolved=resolved,
            interaction_id=self.fake.snowflake(),
            **self._where(channel_id, guild_id, person),
        )
        return await self.dispatch(payload, since=since)

    async def submit_modal(
        self, modal: Exchange | Json, person: Person, values: Mapping[str, str | bool | Sequence[Any] | None]
    ) -> Exchange:
        """Submit the modal the bot sent (an ``Exchange`` with a type-9 response, or its ``data`` dict).

        ``values`` maps custom_id to a text value, a list of values (selects, checkbox groups, file uploads as
        ``(filename, bytes)``), a radio value or a checkbox bool. Missing optional fields are sent empty; a missing
        required field, an unknown custom_id or an invalid option fails, as Discord's client would not submit.
        """
        since = await self._begin()
        where: Json = {}
        message: Json | None = None
        if isinstance(modal, Exchange):
            source = modal.payload
            if modal.modal is None:
                raise AssertionError(f"the bot did not answer with a modal (callback type {modal.kind})")
            modal = modal.modal
            where = {"guild_id": int(source["guild_id"]) if "guild_id" in source else None}
            where["channel_id"] = int(source["channel_id"])
            if "message" in source:
                message = self.fake.messages.get(int(source["message"]["id"]))
        builder = _ModalSubmit(self, values)
        components = builder.build(modal["components"])
        if unknown := set(values) - builder.used:
            raise AssertionError(f"modal {modal['custom_id']!r} has no fields {sorted(unknown)}")
        guild_id = where.get("guild_id", self.guild_id)
        payload = payloads.modal_submit(
            modal["custom_id"],
            person,
            components,
            resolved=builder.resolved,
            interaction_id=self.fake.snowflake(),
            message=copy.deepcopy(message) if message else None,
            **self._where(where.get("channel_id"), guild_id, person),
        )
        return await self.dispatch(payload, since=since)

    async def react(
        self, message_id: int, channel_id: int, emoji: str, person: Person, *, remove: bool = False
    ) -> Exchange:
        """MESSAGE_REACTION_ADD (or _REMOVE) by ``person``."""
        since = await self._begin()
        guild_id = self._guild_of(channel_id)
        data = payloads.reaction(message_id, channel_id, emoji, person, guild_id=guild_id, remove=remove)
        before = len(self.fake.calls)
        if remove:
            self.state.parse_message_reaction_remove(data)  # type: ignore[arg-type]
        else:
            self.state.parse_message_reaction_add(data)  # type: ignore[arg-type]
        await self.settle(since=since)
        return Exchange(self.fake, data, self.fake.calls[before:])

    async def dispatch(self, payload: Json, *, since: set[asyncio.Task[Any]] | None = None) -> Exchange:
        """Deliver any INTERACTION_CREATE payload, wait for the bot to finish, return what it did.

        ``since``: the tasks running when the action began (the default: now), which settling leaves alone."""
        if since is None:
            since = await self._begin()
        self.fake.register_interaction(payload)
        before = len(self.fake.calls)
        self.state.parse_interaction_create(payload)  # type: ignore[arg-type]
        await self.settle(since=since)
        return Exchange(self.fake, payload, self.fake.calls[before:])

    async def _begin(self) -> set[asyncio.Task[Any]]:
        """Start an action: yield once, so actions started together (``asyncio.gather``) all see the same state
        (like a double click), then note the running tasks (the test, sibling actions) for ``settle`` to skip."""
        await asyncio.sleep(0)
        return set(asyncio.all_tasks())

    async def settle(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - overrides settle_timeout
        *,
        since: Container[asyncio.Task[Any]] | None = None,
    ) -> None:
        """Wait until every task started since the simulator was created (or since the tasks in ``since``) has
        finished: the CommandTree invoker and view/modal dispatch tasks are fire-and-forget. View timeouts,
        ``delete_after`` sleepers, aiohttp's own server tasks and tasks given to ``ignore()`` are left alone."""
        loop = asyncio.get_running_loop()
        timeout = timeout if timeout is not None else self.settle_timeout
        deadline = loop.time() + timeout
        me = asyncio.current_task()
        old = self._baseline if since is None else since
        while True:
            for _ in range(3):
                await asyncio.sleep(0)
            pending = [t for t in asyncio.all_tasks() if t is not me and t not in old and not self._skip(t)]
            if not pending:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = ", ".join(sorted(f"{t.get_name()} ({_coro_name(t)})" for t in pending))
                raise AssertionError(f"tasks still running after {timeout}s: {names}")
            await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    # --- helpers --------------------------------------------------------------------------------------------------

    def _skip(self, task: asyncio.Task[Any]) -> bool:
        if task.done():
            return True
        qualname = _coro_name(task)
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code else ""
        if f"{os.sep}aiohttp{os.sep}" in filename:
            return True
        if "__timeout_task_impl" in qualname or (
            qualname.endswith("inner_call") and f"{os.sep}discord{os.sep}" in filename
        ):
            return True
        return any(predicate(task) for predicate in self.ignored)

    def _guild_of(self, channel_id: int) -> int | None:
        return None if self.fake.channels.get(channel_id, {}).get("type") == 1 else self.guild_id

    def _where(self, channel_id: int | None, guild_id: int | None, person: Person) -> Json:
        if guild_id is None:
            channel = self.fake.channels.get(channel_id or 0) or self.fake.dm_channel(person.id)
            return {"guild_id": None, "channel": channel, "channel_id": int(channel["id"])}
        cid = channel_id or self.channel_id
        channel = self.channels.get(cid) or payloads.text_channel(cid, guild_id, f"channel-{cid}")
        return {"guild_id": guild_id, "channel": channel, "channel_id": cid}

    def _find_command(
        self, path: list[str], guild_id: int | None
    ) -> tuple[app_commands.Command[Any, ..., Any], int | None]:
        tree: app_commands.CommandTree[Any] = self.bot.tree  # type: ignore[attr-defined]
        root, command_guild_id = None, None
        if guild_id is not None and (root := tree.get_command(path[0], guild=discord.Object(guild_id))):
            command_guild_id = guild_id
        root = root or tree.get_command(path[0])
        if root is None:
            known = [c.name for c in tree.get_commands()]
            raise AssertionError(f"no app command /{path[0]} in the tree (global commands: {known})")
        command: Any = root
        for part in path[1:]:
            child = command.get_command(part) if isinstance(command, app_commands.Group) else None
            if child is None:
                raise AssertionError(f"/{command.qualified_name} has no subcommand {part!r}")
            command = child
        if not isinstance(command, app_commands.Command):
            raise AssertionError(f"/{' '.join(path)} is a group or context menu, not a command: give the subcommand")
        return command, command_guild_id

    def _command_options(
        self,
        command: app_commands.Command[Any, ..., Any],
        values: Mapping[str, Any],
        *,
        guild: bool,
        focused: str | None,
    ) -> tuple[list[Json], Json]:
        params = {p.name: p for p in command.parameters} | {p.display_name: p for p in command.parameters}
        given = set(values)
        missing = [p.name for p in command.parameters if p.required and not {p.name, p.display_name} & given]
        if missing and focused is None:
            raise AssertionError(f"/{command.qualified_name} needs options {missing}")
        collected: dict[str, list[Json]] = {"users": [], "roles": [], "channels": [], "attachments": []}
        people: list[Person] = []
        out: list[Json] = []
        for key, value in values.items():
            param = params.get(key)
            if param is None:
                raise AssertionError(f"/{command.qualified_name} has no option {key!r}; options: {sorted(params)}")
            if key == focused or param.name == focused:
                out.append({"name": param.display_name, "type": param.type.value, "value": str(value), "focused": True})
                continue
            raw = self._option_value(param.type, value, people, collected)
            out.append({"name": param.display_name, "type": param.type.value, "value": raw})
        resolved = payloads.resolved_for(
            people=people,
            guild=guild,
            roles=collected["roles"],
            channels=collected["channels"],
            attachments=collected["attachments"],
            guild_members=[pid for (gid, pid) in self.fake.members if gid == self.guild_id],
        )
        return out, resolved

    def _person(self, value: Any) -> Person:
        if isinstance(value, Person):
            return value
        if isinstance(value, (discord.User, discord.Member)):
            return self.people.get(value.id) or Person(value.id, value.name, bot=value.bot)
        uid = int(value)
        return self.people.get(uid) or Person(uid, f"user{uid}")

    def _option_value(self, kind: Opt, value: Any, people: list[Person], collected: dict[str, list[Json]]) -> Any:
        if isinstance(value, app_commands.Choice):
            value = value.value
        if isinstance(value, enum.Enum):
            value = value.value
        if kind is Opt.string:
            return str(value)
        if kind is Opt.integer:
            return int(value)
        if kind is Opt.number:
            return float(value)
        if kind is Opt.boolean:
            return bool(value)
        if kind is Opt.user or (kind is Opt.mentionable and not self._is_role(value)):
            people.append(self._person(value))
            return str(people[-1].id)
        if kind in (Opt.role, Opt.mentionable):
            rid = (
                value.id if isinstance(value, discord.Role) else int(value["id"] if isinstance(value, dict) else value)
            )
            collected["roles"].append(self.roles.get(rid) or payloads.role(rid, f"role-{rid}"))
            return str(rid)
        if kind is Opt.channel:
            cid = int(value["id"]) if isinstance(value, dict) else getattr(value, "id", value)
            chan = self.fake.channels.get(int(cid)) or payloads.text_channel(int(cid), self.guild_id, f"channel-{cid}")
            collected["channels"].append(payloads.resolved_channel(chan))
            return str(cid)
        if kind is Opt.attachment:
            collected["attachments"].append(self._attachment(value))
            return collected["attachments"][-1]["id"]
        raise AssertionError(f"unsupported option type {kind}")

    def _is_role(self, value: Any) -> bool:
        return isinstance(value, discord.Role) or (isinstance(value, int) and value in self.roles)

    def _attachment(self, value: Any) -> Json:
        if isinstance(value, dict):
            return value
        filename, data = value
        aid = self.fake.snowflake()
        self.fake.attachments[aid] = data
        return payloads.attachment(aid, filename, len(data), f"{self.fake.base_url}/cdn/attachments/{aid}/{filename}")

    def _select_values(self, comp: Json, values: Sequence[Any] | None) -> tuple[list[str] | None, Json | None]:
        if values is None:
            return None, None
        ctype = comp["type"]
        if ctype == 3:
            allowed = {o["value"] for o in comp.get("options", [])}
            if bad := [v for v in values if v not in allowed]:
                raise AssertionError(f"select {comp['custom_id']!r} has no options {bad}; options: {sorted(allowed)}")
            return [str(v) for v in values], None
        people: list[Person] = []
        collected: dict[str, list[Json]] = {"users": [], "roles": [], "channels": [], "attachments": []}
        kind = {5: Opt.user, 6: Opt.role, 7: Opt.mentionable, 8: Opt.channel}[ctype]
        ids = [str(self._option_value(kind, v, people, collected)) for v in values]
        resolved = payloads.resolved_for(people=people, roles=collected["roles"], channels=collected["channels"])
        return ids, resolved


class _ModalSubmit:
    """Turns the modal JSON the bot sent into the components of a type-5 submit payload."""

    def __init__(self, sim: Simulator, values: Mapping[str, Any]) -> None:
        self.sim = sim
        self.values = values
        self.used: set[str] = set()
        self.resolved: Json = {}
        self._ids = itertools.count(1)

    def build(self, components: list[Json]) -> list[Json]:
        out: list[Json] = []
        for c in components:
            if c["type"] == 1:
                out.append({"type": 1, "id": self._id(c), "components": self.build(c["components"])})
            elif c["type"] == 18:
                label = {"type": 18, "id": self._id(c)}
                out.append(label | {"component": self._field(c["component"], c.get("label"))})
            elif c["type"] == 10:
                out.append({"type": 10, "id": self._id(c), "content": c.get("content", "")})
            elif "custom_id" in c:
                out.append(self._field(c, None))
        return out

    def _field(self, c: Json, label: str | None) -> Json:
        custom_id, kind = c["custom_id"], c["type"]
        out: Json = {"type": kind, "id": self._id(c), "custom_id": custom_id}
        name = f"modal field {custom_id!r} ({label or c.get('label')})"
        value = self.values.get(custom_id)
        self.used.add(custom_id)
        if kind == 4:  # text input
            text = "" if value is None else str(value)
            low, high = _get(c, "min_length", 0), _get(c, "max_length", 4000)
            if not text and _get(c, "required", True):
                raise AssertionError(f"{name} is required")
            if text and not low <= len(text) <= high:
                raise AssertionError(f"{name}: length {len(text)} outside {low}..{high}")
            out["value"] = text
        elif kind == 21:  # radio group
            self._check_options(name, c, [] if value is None else [value])
            if value is None and _get(c, "required", True):
                raise AssertionError(f"{name} is required")
            out["value"] = value
        elif kind == 23:  # checkbox
            out["value"] = bool(value)
        elif kind == 19:  # file upload
            files = [self.sim._attachment(v) for v in value or []]
            self._merge(payloads.resolved_for(attachments=files))
            self._check_count(name, c, len(files))
            out["values"] = [a["id"] for a in files]
        elif kind in (*SELECT_TYPES, 22):  # selects, checkbox group
            chosen = list(value or [])
            if kind in (3, 22):
                self._check_options(name, c, chosen)
                out["values"] = [str(v) for v in chosen]
            else:
                ids, resolved = self.sim._select_values(c, chosen)
                out["values"] = ids or []
                self._merge(resolved or {})
            self._check_count(name, c, len(chosen))
        else:
            raise AssertionError(f"{name}: unsupported component type {kind}")
        return out

    def _id(self, component: Json) -> int:
        """Discord numbers every modal component that has no ``id``."""
        return component.get("id") or next(self._ids)

    def _merge(self, resolved: Json) -> None:
        for key, items in resolved.items():
            self.resolved.setdefault(key, {}).update(items)

    @staticmethod
    def _check_options(name: str, c: Json, chosen: Sequence[Any]) -> None:
        allowed = {o["value"] for o in c.get("options", [])}
        if bad := [v for v in chosen if v not in allowed]:
            raise AssertionError(f"{name} has no options {bad}; options: {sorted(allowed)}")

    @staticmethod
    def _check_count(name: str, c: Json, n: int) -> None:
        low = _get(c, "min_values", 1) if _get(c, "required", True) else 0
        high = _get(c, "max_values", len(c.get("options") or ()) if c["type"] == 22 else 1)
        if not low <= n <= high:
            raise AssertionError(f"{name}: {n} value(s) given, allowed {low}..{high}")


def _get(component: Json, key: str, default: Any) -> Any:
    """A component field; discord.py sends some unset ones as null."""
    value = component.get(key)
    return default if value is None else value


def _coro_name(task: asyncio.Task[Any]) -> str:
    return getattr(task.get_coro(), "__qualname__", "?")

"""A fake Discord gateway: just enough websocket for ``bot.start()`` to reach READY and receive events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket

from tests.fakes import payloads
from tests.fakes.payloads import Json

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord

HEARTBEAT_INTERVAL_MS = 45_000


@contextmanager
def use_gateway(url: str) -> Iterator[None]:
    """Point ``Client.connect()`` (non-sharded) at ``url``; restores the previous gateway afterwards."""
    old = DiscordWebSocket.DEFAULT_GATEWAY
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    try:
        yield
    finally:
        DiscordWebSocket.DEFAULT_GATEWAY = old


def shard_of(guild_id: int | str | None, count: int) -> int:
    """The shard Discord sends a server's events to (DMs, without a server, go to shard 0)."""
    return 0 if guild_id is None or count < 1 else (int(guild_id) >> 22) % count


class FakeGateway:
    """Sends HELLO, answers IDENTIFY with READY plus one GUILD_CREATE per guild, and ACKs heartbeats.

    Frames are plain JSON text: discord.py asks for ``compress=zlib-stream`` in the URL but only decompresses binary
    frames. Pass ``fake`` to register every INTERACTION_CREATE sent with ``dispatch`` on the REST fake.
    """

    def __init__(self, guilds: Sequence[Json] = (), *, fake: FakeDiscord | None = None) -> None:
        self.guilds: list[Json] = list(guilds)
        self.fake = fake
        self.identifies: list[Json] = []
        self.received: list[Json] = []  # every frame the client sent
        self.connections = 0
        self.port = 0
        self._seq: dict[web.WebSocketResponse, int] = {}  # each connection's sequence number
        self._ws: web.WebSocketResponse | None = None
        # Sharded clients (IDENTIFY with "shard": [id, count]): each server's events go to its shard's connection,
        # (guild_id >> 22) % count as Discord routes them, and DMs to shard 0.
        self._shards: dict[int, web.WebSocketResponse] = {}
        self._shard_count = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._identified = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_identified(self, timeout: float = 5.0) -> Json:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self._identified.wait()
        return self.identifies[-1]

    async def dispatch(self, event: str, data: Json) -> None:
        """Send an op-0 event to the connected client (a sharded client: the connection of the event's shard)."""
        ws = self._ws
        if self._shards:
            ws = self._shards.get(shard_of(data.get("guild_id"), self._shard_count))
        if ws is None or ws.closed:
            raise AssertionError("no client is connected to the fake gateway")
        if event == "INTERACTION_CREATE" and self.fake is not None:
            self.fake.register_interaction(data)
        await self._send(ws, {"op": 0, "t": event, "d": data})

    async def _send(self, ws: web.WebSocketResponse, frame: Json) -> None:
        if frame["op"] == 0:
            self._seq[ws] = self._seq.get(ws, 0) + 1
            frame["s"] = self._seq[ws]
        else:
            frame.setdefault("s", None)
            frame.setdefault("t", None)
        await ws.send_str(json.dumps(frame))

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoclose=True)
        await ws.prepare(request)
        self._ws = ws
        self._sockets.add(ws)
        self.connections += 1
        try:
            await self._send(ws, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                await self._on_frame(ws, json.loads(msg.data))
        finally:
            self._sockets.discard(ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, frame: Json) -> None:
        self.received.append(frame)
        op, data = frame.get("op"), frame.get("d")
        if op == 1:  # heartbeat
            await self._send(ws, {"op": 11})
        elif op == 2:  # identify
            self.identifies.append(data)
            self._seq[ws] = 0
            guilds = self.guilds
            if shard := data.get("shard"):
                self._shards[shard[0]], self._shard_count = ws, shard[1]
                guilds = [g for g in self.guilds if shard_of(g["id"], shard[1]) == shard[0]]
            ready = payloads.ready(
                session_id=f"session-{self.connections}",
                resume_gateway_url=self.url,
                guild_ids=[int(g["id"]) for g in guilds],
            )
            if shard:
                ready["shard"] = shard
            await self._send(ws, {"op": 0, "t": "READY", "d": ready})
            for guild in guilds:
                await self._send(ws, {"op": 0, "t": "GUILD_CREATE", "d": guild})
            self._identified.set()
        elif op == 6:  # resume
            await self._send(ws, {"op": 0, "t": "RESUMED", "d": {}})
        elif op == 8:  # request guild members: one chunk with everyone we know
            await self._send(ws, {"op": 0, "t": "GUILD_MEMBERS_CHUNK", "d": self._chunk(data)})

    def _chunk(self, request: Any) -> Json:
        gid = str(request["guild_id"])
        guild = next((g for g in self.guilds if g["id"] == gid), {"members": []})
        return {
            "guild_id": gid,
            "members": guild["members"],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": request.get("nonce"),
        }

"""Admission of interactions (issue 18): load shedding and per-member cooldowns, decided before any work starts.

Every interaction Discord sends passes `Gate.admit` first. When the bot already has `max_in_flight` interactions
at work, the new one is answered at once with "busy, try again in a moment" instead of late; a member who sent
`per_member` interactions within `window` seconds is told when to try again. Nothing else happens for a refused
interaction: no engine call, no database read. The answers themselves are the errors extension's
(`cogs.errors.on_grove_refused`, in the member's client language), so this module imports no cog.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# discord.py names the tasks that run app commands, views, dynamic items and modals with these prefixes
_HANDLERS = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch",
    "discord-ui-modal-dispatch",
    "discord-ui-dynamic",
    "grove-modal",  # Grove's own modal dispatch names its `on_interaction` task so when it takes a form (cogs.tasks)
)
BUSY, SLOW = "busy", "slow"
TICK = 0.1  # seconds between two looks at the event loop's lag
LAG_HIGH, LAG_LOW = 0.15, 0.03  # seconds: a loop this late is saturated; this prompt, it has room
LIMIT_FLOOR = 8  # the adaptive limit never goes below this many at work


@dataclass(frozen=True)
class Refusal:
    reason: str  # BUSY or SLOW
    retry_after: float  # seconds


class Window:
    """At most `limit` uses per key within `seconds`, on an injected clock (the bot's: tests move it)."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float]) -> None:
        self.limit, self.seconds, self._clock = limit, seconds, clock
        self._uses: dict[object, deque[float]] = {}

    def hit(self, key: object) -> float | None:
        """None (and the use counted) when the key has room, else the seconds until it has."""
        if self.seconds <= 0:
            return None
        now = self._clock()
        uses = self._uses.setdefault(key, deque())
        while uses and uses[0] <= now - self.seconds:
            uses.popleft()
        if len(uses) >= self.limit:
            return max(1.0, uses[0] + self.seconds - now)
        uses.append(now)
        if len(self._uses) > 50_000:  # forget keys quiet for a whole window
            self._uses = {k: q for k, q in self._uses.items() if q and q[-1] > now - self.seconds}
        return None


class Gate:
    def __init__(self, *, max_in_flight: int, per_member: int, window: float, clock: Callable[[], float]) -> None:
        self.max_in_flight = max_in_flight
        self.limit = float(max_in_flight)  # the adaptive limit (`observe_lag`): at most max_in_flight
        self.per_member = per_member
        self.window = window
        self._clock = clock
        self._recent: dict[int, deque[float]] = {}
        self.refused = {BUSY: 0, SLOW: 0}

    @staticmethod
    def in_flight() -> int:
        """Interactions at work now: discord.py's handler tasks still running."""
        return sum(1 for t in asyncio.all_tasks() if not t.done() and t.get_name().startswith(_HANDLERS))

    def admit(self, user_id: int | None) -> Refusal | None:
        """None to go ahead, else why not and when to try again. The member's own cooldown comes first, so one
        member flooding is slowed down rather than counted among the busy answers everyone else gets."""
        if user_id is None or self.window <= 0:
            return self._busy()
        now = self._clock()
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) >= self.per_member:
            self.refused[SLOW] += 1
            return Refusal(SLOW, max(1.0, recent[0] + self.window - now))
        recent.append(now)
        if len(self._recent) > 50_000:  # forget members who have been quiet for a window
            self._recent = {u: q for u, q in self._recent.items() if q and q[-1] > now - self.window}
        return self._busy()

    def observe_lag(self, lag: float) -> None:
        """How late the event loop ran a callback due now (seconds). A late loop is saturated: admitting more only
        makes every answer later, so the limit shrinks (by a fifth); a prompt loop lets it grow back (by two) up to
        `max_in_flight`. Additive increase, multiplicative decrease, as TCP finds a link's capacity."""
        if lag > LAG_HIGH:
            self.limit = max(float(min(LIMIT_FLOOR, self.max_in_flight)), self.limit * 0.8)
        elif lag < LAG_LOW:
            self.limit = min(float(self.max_in_flight), self.limit + 2)

    async def watch(self, backlog: Callable[[], float] = lambda: 0.0) -> None:
        """Every TICK, adapt the limit to the event loop's lag or to `backlog` (how long work waited elsewhere, such
        as for the database thread), whichever is worse; until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            self.observe_lag(max(loop.time() - due, backlog()))

    def _busy(self) -> Refusal | None:
        if self.in_flight() >= int(self.limit):
            self.refused[BUSY] += 1
            return Refusal(BUSY, 2.0)
        return None


def user_of(data: dict[str, Any]) -> int | None:
    """The id of who sent an INTERACTION_CREATE payload (a member in a server, a user in DMs)."""
    user = (data.get("member") or {}).get("user") or data.get("user") or {}
    return int(user["id"]) if "id" in user else None


def typed_in(data: dict[str, Any]) -> str:
    """What a modal submit carries as typed text (empty for anything else): a refusal gives it back."""
    if data.get("type") != 5:
        return ""
    found: list[str] = []

    def walk(components: Any) -> None:
        for component in components or ():
            if not isinstance(component, dict):
                continue
            if component.get("type") == 4 and isinstance(component.get("value"), str):
                found.append(component["value"])
            walk(component.get("components"))
            if isinstance(component.get("component"), dict):
                walk([component["component"]])

    walk((data.get("data") or {}).get("components"))
    return "\n\n".join(v for v in found if v.strip())

"""Load benchmark: simulated members doing tasks through Grove's cogs over the offline fake Discord.

    python -m benchmarks.discord                              # 500 members for 60 s
    python -m benchmarks.discord --members 50 --seconds 10 --think 1
    python -m benchmarks.discord --members 500,1000,2000 --flood  # plus one admin hammering /stats and exports
    python -m benchmarks.discord --members 2000 --bot-source /tmp/old  # another checkout's bot, to compare
    python -m benchmarks.discord --members 2000 --procs 2 --database-url postgresql://user@host/db  # two shards

Grove runs as `grove run` in its own process, talking over 127.0.0.1 to the fake Discord's REST API and gateway,
which run here with the members (`--in-process`: the bot in this process too, the older measure). Each member waits
an exponential think time (mean --think s), then takes one step on its current card: no card, `/task` of a random
type; a writing card, Write → modal → Submit; a quick review, "Looks fine"; a full review, Skip; a ranking,
"All bad" or Skip. Every interaction is timed from its INTERACTION_CREATE to the callback POST the fake receives.
Prints a table per interaction kind, then one JSON line with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import importlib.util
import json
import os
import re
import resource
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import numpy as np

from benchmarks.bulk import BulkSpec, build
from bot.bot import Grove
from bot.config import DatabaseSettings, DiscordSettings, GroveConfig
from bot.runner import fast_loop
from engine.types import TaskType
from tests.fakes import Call, DiscordErrorLog, FakeDiscord, FakeGateway, Person, Simulator, message_text, payloads
from tests.fakes.discord_api import walk_components
from tests.fakes.payloads import Json

SLOW = 3.0  # seconds: an interaction answered later than this counts as over 3 s (Discord allows 3 s)
WAIT = 30.0  # seconds a member waits for a first response before counting the interaction as unanswered
WANDER = 0.2  # chance per step that a member leaves its card for a fresh /task (continuous cards keep one kind)
TYPES = ["random", *TaskType]  # the type option of /task, drawn uniformly
CALLBACK = r"^/interactions/(\d+)/[^/]+/callback$"
HERE = Path(__file__).resolve().parent.parent  # this checkout: the bot's code unless --bot-source names another


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


@dataclass
class Load:
    """The shared state of one run: how interactions reach the bot, the fake, and what was measured."""

    fake: FakeDiscord
    deliver: Callable[[Json], Awaitable[None]]  # hand one INTERACTION_CREATE to the bot
    slash: Callable[..., Json]  # (name, person, sub=None, **options) -> a slash command's payload
    text_seed: int
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)  # unanswered or "something went wrong" (non-2xx: fake.calls)
    notices: Counter[str] = field(default_factory=Counter)  # domain errors told to members (⚠️), e.g. no task
    busy: Counter[str] = field(default_factory=Counter)  # interactions the admission gate answered "busy", by kind
    slowed: int = 0  # interactions answered "slow down" (a member's cooldown)
    _answered: dict[int, asyncio.Future[float]] = field(default_factory=dict)

    def install(self) -> None:
        @self.fake.route("POST", CALLBACK)
        def stamp(call: Call, match: re.Match[str]) -> Any:
            waiter = self._answered.get(int(match[1]))
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())
            return NotImplemented  # the fake's own callback route answers and records it

    async def interact(self, kind: str, payload: Json) -> Call | None:
        """Deliver one interaction and wait for its first response; returns the callback call."""
        iid = int(payload["id"])
        waiter = self._answered[iid] = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        await self.deliver(payload)
        try:
            answered = await asyncio.wait_for(waiter, WAIT)
        except TimeoutError:
            self.problems.append(f"{kind}: no response within {WAIT:.0f} s")
            self.times[kind].append(WAIT)
            return None
        finally:
            del self._answered[iid]
        self.times[kind].append(answered - start)
        call = self.fake.callbacks.get(iid)  # a refused callback (non-2xx) is counted with the fake's calls
        if call is None or not 200 <= call.status < 300:
            return call
        data = (call.json or {}).get("data") or {}
        text = message_text(data) if call.json.get("type") in (4, 7) else ""
        if "Something went wrong" in text:
            self.problems.append(f"{kind}: {text.splitlines()[0]}")
        elif text.startswith("⚠️"):
            self.notices[text.splitlines()[0]] += 1
        elif text.startswith("⏳ Grove is very busy"):
            self.busy[kind] += 1
        elif "Slow down:" in text.split("\n", 1)[0]:
            self.slowed += 1
        return call

    def response(self, payload: Json) -> Json | None:
        """The message the interaction's response created or edited, if any."""
        return self.fake.messages.get(self.fake.responses.get(int(payload["id"]), 0))


@dataclass
class Member:
    load: Load
    person: Person
    rng: np.random.Generator
    card: Json | None = None
    written: int = 0
    guild_id: int = payloads.GUILD_ID  # the server this member works in (several with --procs: one per shard)

    async def click(self, kind: str, custom_id: str) -> tuple[Json, Call | None]:
        assert self.card is not None
        payload = payloads.component(
            copy.deepcopy(self.card),
            custom_id,
            self.person,
            interaction_id=payloads.snowflake(),
            guild_id=self.guild_id,
        )
        call = await self.load.interact(kind, payload)
        self.card = self.load.response(payload) or self.card
        return payload, call

    async def step(self) -> None:
        ids = [c["custom_id"] for c in walk_components((self.card or {}).get("components") or []) if "custom_id" in c]
        ids = [i for i in ids if i.startswith("g:t:")]
        if self.rng.random() < WANDER:
            ids = []  # leave the card (its lease frees the slot later) for a fresh /task

        def find(pattern: str) -> str | None:
            return next((i for i in ids if re.fullmatch(rf"g:t:[0-9a-f-]{{36}}:{pattern}", i)), None)

        if target := find("skip:sure"):
            await self.click("skip", target)
        elif target := find("submit"):
            await self.click("submit", target)
        elif target := find("write"):
            await self.write(target)
        elif target := find("label:ok"):
            await self.click("label_ok", target)
        elif find("review") and (target := find("skip")):
            await self.click("skip", target)
        elif (target := find("rank_bad")) and self.rng.random() < 0.5:
            await self.click("rank_bad", target)
        elif ids and (target := find("skip")):
            await self.click("skip", target)
        elif target := find("resume"):  # /task offered an unfinished task first
            await self.click("resume", target)
        else:
            payload = self.load.slash("task", self.person, type=str(self.rng.choice(TYPES)))
            await self.load.interact("slash_task", payload)
            self.card = self.load.response(payload)

    async def write(self, custom_id: str) -> None:
        source, call = await self.click("write", custom_id)
        if call is None or call.json.get("type") != 9:
            return
        self.written += 1
        modal = call.json["data"]
        text = (
            f"Benchmark text {self.load.text_seed}-{self.person.id}-{self.written}: "
            "how do oak trees survive a long and dry summer?"
        )
        field_ = {"type": 4, "id": 2, "custom_id": "text", "value": text}
        payload = payloads.modal_submit(
            modal["custom_id"],
            self.person,
            [{"type": 18, "id": 1, "component": field_}],
            message=copy.deepcopy(self.card),
            channel_id=int(source["channel_id"]),
            interaction_id=payloads.snowflake(),
            guild_id=self.guild_id,
        )
        await self.load.interact("modal_write", payload)
        self.card = self.load.response(payload) or self.card
        ids = [c.get("custom_id", "") for c in walk_components((self.card or {}).get("components") or [])]
        if target := next((i for i in ids if i.endswith(":submit")), None):
            await self.click("submit", target)

    async def run(self, think: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(float(self.rng.exponential(think)), max(deadline - loop.time(), 0.0)))
            if loop.time() >= deadline:
                return
            await self.step()


async def flood(load: Load, person: Person, deadline: float) -> None:
    """One admin hammering `/stats` and, every tenth time, `/config export` (issue 18's --flood): as fast as a script
    can, 20 a second, each sent as soon as the last was answered and 50 ms have passed."""
    loop = asyncio.get_running_loop()
    n = 0
    while loop.time() < deadline:
        await asyncio.sleep(0.05)
        n += 1
        if n % 10:
            await load.interact("flood_stats", load.slash("stats", person))
        else:
            await load.interact("flood_export", load.slash("config", person, sub="export", everything=True))


async def lottery(bot: Grove, every: float) -> None:
    """The scheduler's prompt lottery (jobs are off): activates waiting prompts so trees keep growing."""
    job = next(j for j in bot.jobs if j.id == "prompt-lottery")
    while True:
        await asyncio.sleep(every)
        await job.run()


def report(load: Load, members: int, elapsed: float, logged: list[str], bot: dict[str, Any]) -> dict[str, Any]:
    """Print the table and return the summary; `logged` are the errors the bot logged, `bot` what is known of the
    bot's process (its peak memory, CPU time, event loop, and where it ran)."""
    every = [t for v in load.times.values() for t in v]
    print(f"\n{members} members, {elapsed:.1f} s, {len(every)} interactions ({len(every) / elapsed:.1f}/s)")
    print(f"  {'interaction':<14}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'>3 s':>6}")
    for name, v in [*sorted(load.times.items()), ("all", every)]:
        if v:
            p50, p99, top = pct(v, 50) * 1e3, pct(v, 99) * 1e3, max(v) * 1e3
            print(f"  {name:<14}{len(v):>7}{p50:>10.1f}{p99:>10.1f}{top:>10.1f}{sum(t > SLOW for t in v):>6}")
    problems = load.problems + [f"HTTP {c.status} {c.method} {c.path}" for c in load.fake.calls if c.status >= 300]
    problems += [f"logged: {line}" for line in logged]
    print(f"  notices (⚠️ told to members): {load.notices.total()}; errors: {len(problems)}")
    for text, n in load.notices.most_common(3):
        print(f"    {n:>6} × {text}")
    for line in list(dict.fromkeys(problems))[:10]:
        print(f"    {line}")
    return {
        "members": members,
        "seconds": round(elapsed, 1),
        "interactions": len(every),
        "first_response_p50_ms": round(pct(every, 50) * 1e3, 1),
        "first_response_p99_ms": round(pct(every, 99) * 1e3, 1),
        "first_response_max_ms": round(max(every, default=float("nan")) * 1e3, 1),
        "over_3s": sum(t > SLOW for t in every),
        "interactions_per_s": round(len(every) / elapsed, 1),
        "notices": load.notices.total(),
        "told_busy": sum(load.busy.values()),  # the admission gate (bot/gate.py)
        "members_told_busy": sum(n for kind, n in load.busy.items() if not kind.startswith("flood")),
        "members_served": sum(len(v) for k, v in load.times.items() if not k.startswith("flood"))
        - sum(n for kind, n in load.busy.items() if not kind.startswith("flood")),
        "members_over_3s": sum(t > SLOW for k, v in load.times.items() if not k.startswith("flood") for t in v),
        "told_slow_down": load.slowed,
        "flood_interactions": sum(len(v) for k, v in load.times.items() if k.startswith("flood")),
        "errors": len(problems),
        "cpus": os.cpu_count(),
        **bot,
    }


def lived_in(path: Path, seed: int) -> None:
    """A lived-in database, so every task kind exists from the start: prompts to review, trees to grow and rank."""
    build(str(path), BulkSpec(messages=2000, langs=("en",), users=200, seed=seed, start=time.time() - 7 * 86400))


def people(members: int) -> list[Person]:
    return [Person(FIRST_ID + i, f"member{i}") for i in range(members)]


async def crowd_run(
    load: Load,
    crowd: list[Person],
    seconds: float,
    think: float,
    seed: int,
    flooder: Person | None,
    guild_of: Callable[[Person], int] | None = None,
) -> float:
    """Every member acting until the deadline (and the flood, if any); returns the seconds it took. `guild_of`: the
    server each member works in (default: the one test server)."""
    members = [
        Member(load, p, np.random.default_rng([seed, 2, i]), guild_id=guild_of(p) if guild_of else payloads.GUILD_ID)
        for i, p in enumerate(crowd)
    ]
    loop = asyncio.get_running_loop()
    start = loop.time()
    floods = [flood(load, flooder, start + seconds)] if flooder is not None else []
    await asyncio.gather(*(m.run(think, start + seconds) for m in members), *floods)
    return loop.time() - start


async def run_in_process(members: int, seconds: float, think: float, seed: int, flooding: bool) -> dict[str, Any]:
    """The bot, the fake Discord and the members share this process and its event loop (the older measure)."""
    with tempfile.TemporaryDirectory(prefix="grove-bench-") as tmp, DiscordErrorLog("grove", "cogs", "bot") as log:
        path = Path(tmp) / "grove.sqlite3"
        lived_in(path, seed)
        async with FakeDiscord() as fake:
            config = GroveConfig(
                discord=DiscordSettings(api_base_url=fake.api_base), database=DatabaseSettings(path=path)
            )
            bot = Grove(config, rng=np.random.default_rng([seed, 1]), start_jobs=False)
            try:
                await bot.login("fake-token")
                sim = Simulator(bot, fake)
                crowd = [sim.member(p.name) for p in people(members)]
                flooder = sim.member("flooder", payloads.PERMS_ADMIN) if flooding else None
                sim.create_guild()
                for person in crowd:  # members of a running Grove have agreed to the dataset terms already
                    await bot.engine.give_consent(await bot.member_id(discord.Object(person.id)))  # type: ignore[arg-type]

                async def deliver(payload: Json) -> None:
                    fake.register_interaction(payload)
                    bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]

                load = Load(fake, deliver, sim.build_slash, seed)
                load.install()
                background = asyncio.create_task(lottery(bot, 10.0))
                elapsed = await crowd_run(load, crowd, seconds, think, seed, flooder)
                background.cancel()
                with suppress(asyncio.CancelledError):
                    await background
                await sim.settle()
            finally:
                await bot.close()
        loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]  # asyncio or uvloop
        rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        summary = report(
            load,
            members,
            elapsed,
            [r.getMessage() for r in log.records],
            {"bot": "in process", "event_loop": loop_name, "peak_rss_mb": rss},
        )
    print()
    print(json.dumps(summary))
    return summary


def remote_slash(fake: FakeDiscord, guild_id: int) -> Callable[..., Json]:
    """Slash payloads as Discord sends them for the commands the bot synced to the fake (its dev guild)."""
    kinds = {str: 3, int: 4, bool: 5}

    def build(name: str, person: Person, sub: str | None = None, **options: Any) -> Json:
        opts = [payloads.option(k, kinds[type(v)], v) for k, v in options.items()]
        if sub is not None:
            opts = [payloads.option(sub, 1, options=opts)]
        return payloads.slash(
            name,
            person,
            options=opts,
            command_id=fake.command_id(name, guild_id),
            command_guild_id=guild_id,
            interaction_id=fake.snowflake(),
            guild_id=guild_id,
            channel_id=payloads.CHANNEL_ID,
        )

    return build


# The database a remote run starts from, prepared by the bot's own code (`--bot-source`: another version's checkout
# prepares a database of its own schema): lived in, the members agreed to the dataset terms (as in a running Grove),
# and every job ran just now, so the bot's start-up catch-up of overdue jobs does not run them all during the measure.
PREPARE = """
import asyncio, sys, time
from benchmarks.bulk import BulkSpec, build
from bot.config import SchedulerSettings
from bot.scheduler import jobs
from engine import Engine, EngineConfig
from engine.stats import Stats
from storage.database import Database

path, seed, members, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
build(path, BulkSpec(messages=2000, langs=("en",), users=200, seed=seed, start=time.time() - 7 * 86400))


async def main():
    db = await Database.open(path)
    try:
        engine = Engine(db, EngineConfig())
        for i in range(members):
            await engine.give_consent(await engine.ensure_user("discord", str(first + i), f"member{i}"))
        now = time.time()
        async with db.transaction() as repo:
            for job in jobs(engine, Stats(db), SchedulerSettings()):
                await repo.jobs.record_run(job.id, now, now)
    finally:
        await db.close()


asyncio.run(main())
"""
FIRST_ID = 100_000_000_000_000_000  # the first simulated member's Discord id


def source_env(source: Path) -> dict[str, str]:
    """The environment of a process running the bot's code from `source` (ahead of the installed checkout; the
    process also starts in `source`, since `python -c` puts its working directory first on the path)."""
    return {**os.environ, "PYTHONPATH": str(source), "DISCORD_TOKEN": "bench-token"}


async def prepare(source: Path, path: Path, members: int, seed: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PREPARE, str(path), str(seed), str(members), str(FIRST_ID),
        env=source_env(source), cwd=source, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"preparing the database with {source} failed:\n{err.decode(errors='replace')}")


async def bot_process(
    source: Path, config: Path, asyncio_loop: bool, command: tuple[str, ...] = ("run",)
) -> asyncio.subprocess.Process:
    """`grove run` (or another `command`) from `source` in its own process; with `asyncio_loop`, as if uvloop were
    not installed."""
    code = "import sys; from bot.cli import main; sys.exit(main())"
    if asyncio_loop:
        code = "import sys; sys.modules['uvloop'] = None; " + code[len("import sys; ") :]
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, command[0], "--config", str(config), *command[1:], env=source_env(source),
        cwd=source, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def proc_figures(pid: int) -> dict[str, Any]:
    """Peak memory and CPU seconds of a running process (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"peak_rss_mb": round(hwm / 1024, 1), "bot_cpu_s": round(cpu, 1)}


async def run_remote(
    members: int, seconds: float, think: float, seed: int, flooding: bool, asyncio_loop: bool, source: Path = HERE
) -> dict[str, Any]:
    """Grove in its own process (`grove run`, as in production), talking over 127.0.0.1 to the fake Discord's REST
    API and gateway, which run here with the simulated members: the bot's process does the bot's work only."""
    with tempfile.TemporaryDirectory(prefix="grove-bench-") as tmp:
        path = Path(tmp) / "grove.sqlite3"
        crowd = people(members)
        flooder = Person(FIRST_ID - 1, "flooder", payloads.PERMS_ADMIN) if flooding else None
        await prepare(source, path, members, seed)
        async with FakeDiscord() as fake:
            guild = payloads.guild(
                payloads.GUILD_ID,
                members=[
                    payloads.person_member(p, permissions=False) for p in [*crowd, *([flooder] if flooder else [])]
                ],
            )
            fake.know_guild(guild)
            gateway = FakeGateway([guild], fake=fake)
            await gateway.start()
            config = Path(tmp) / "config.toml"
            config.write_text(
                f'[discord]\napi_base_url = "{fake.api_base}"\ngateway_url = "{gateway.url}"\n'
                f'dev_guild_id = {payloads.GUILD_ID}\n[database]\npath = "{path}"\n'
                f"[scheduler]\nprompt_lottery = {10 / 60}\n"  # every 10 s, as the in-process run does it
                '[logging]\nlevel = "WARNING"\n'
            )
            proc = await bot_process(source, config, asyncio_loop)
            logged: list[str] = []

            async def read() -> None:
                assert proc.stderr is not None
                async for line in proc.stderr:
                    logged.append(line.decode(errors="replace").rstrip())

            reader = asyncio.create_task(read())
            try:
                await gateway.wait_identified(timeout=60)
                await fake.wait_for("PUT", rf"/applications/\d+/guilds/{payloads.GUILD_ID}/commands", timeout=60)
                await asyncio.sleep(1.0)  # READY handled, the commands synced: the bot is serving
                load = Load(fake, lambda payload: gateway.dispatch("INTERACTION_CREATE", payload), remote_slash(
                    fake, payloads.GUILD_ID), seed)  # fmt: skip
                load.install()
                elapsed = await crowd_run(load, crowd, seconds, think, seed, flooder)
                await asyncio.sleep(1.0)  # answers still on their way
                figures = proc_figures(proc.pid)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(proc.wait(), 30)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
                await reader
                await gateway.close()
        errors = [line for line in logged if " ERROR " in line or line.startswith("Traceback")]
        loop_name = "asyncio" if asyncio_loop or importlib.util.find_spec("uvloop") is None else "uvloop"
        where = "own process" if source == HERE else f"own process, code from {source}"
        summary = report(load, members, elapsed, errors, {"bot": where, "event_loop": loop_name, **figures})
    print()
    print(json.dumps(summary))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.discord", description=__doc__.splitlines()[0])
    parser.add_argument("--asyncio", action="store_true", help="asyncio's event loop even when uvloop is installed")
    parser.add_argument(
        "--members", default="500", help="concurrent simulated members; a comma-separated list runs each in turn"
    )
    parser.add_argument("--flood", action="store_true", help="add one admin hammering /stats and /config export")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long members keep acting")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time between steps (exponential), s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the bot in this process, beside the fake Discord and the members (the older measure)",
    )
    parser.add_argument(
        "--bot-source",
        type=Path,
        default=HERE,
        help="run the bot's process from this checkout of another version (for a same-run comparison)",
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=1,
        help="bot processes, one Discord shard each, on the PostgreSQL database --database-url names",
    )
    parser.add_argument(
        "--database-url", default=None, metavar="URL", help="PostgreSQL server for --procs (postgresql://user@host/db)"
    )
    args = parser.parse_args()
    if args.procs > 1 or args.database_url:
        if not args.database_url or args.in_process or args.bot_source != HERE:
            parser.error("--procs runs this checkout's bot in N processes on PostgreSQL: give --database-url")
        from benchmarks.shards import run_shards

        for members in (int(m) for m in str(args.members).split(",")):
            with asyncio.Runner(loop_factory=None if args.asyncio else fast_loop()) as runner:
                runner.run(
                    run_shards(
                        members, args.seconds, args.think, args.seed, args.procs, args.database_url, args.asyncio
                    )
                )
        return
    if args.in_process and args.bot_source != HERE:
        parser.error("--bot-source runs the bot in its own process; it cannot be combined with --in-process")
    for members in (int(m) for m in str(args.members).split(",")):
        # the event loop `grove run` would use: uvloop with the [fast] extra, else asyncio's (--asyncio forces it)
        with asyncio.Runner(loop_factory=None if args.asyncio else fast_loop()) as runner:
            if args.in_process:
                runner.run(run_in_process(members, args.seconds, args.think, args.seed, args.flood))
            else:
                runner.run(
                    run_remote(
                        members,
                        args.seconds,
                        args.think,
                        args.seed,
                        args.flood,
                        args.asyncio,
                        args.bot_source.resolve(),
                    )
                )


if __name__ == "__main__":
    main()

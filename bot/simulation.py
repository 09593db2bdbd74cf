"""A simulated community driving the real engine: writers, reviewers, rankers, spammers, skippers, flaggers,
and (when asked) members who take a task card and walk away from it.

Deterministic for a seed: the engine's randomness, the members' choices and the clock all derive from it.
Time passes as in a real community: each member turn (asking for a task and acting on it) takes about
TURN_SECONDS of simulated time, and the scheduled jobs run every JOB_TURNS turns (a few minutes apart). A card
a member walks away from costs the community a glance (GLANCE of a turn's time), not the work of a task: the member
read it and left, and the members who work go on working meanwhile.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from engine import errors
from engine.clock import FakeClock
from engine.engine import Engine
from engine.labels import LABELS, Widget
from engine.types import Emoji, LabelMode, Task, TaskKind, TaskType, TreeState

SPAM_MARK = "buy cheap watches"
TURN_SECONDS = 20.0  # mean simulated time between two member turns, for the whole community
JOB_TURNS = 25  # the scheduled jobs run every this many turns (about 8 minutes of simulated time)
GLANCE = 0.25  # the share of a turn's time an abandoned card takes: the member read it and left


@dataclass
class Member:
    user_id: int
    lang: str
    spammer: bool = False  # writes junk
    skipper: float = 0.05  # chance to skip any task
    flagger: bool = False  # flags what they review as bad


@dataclass
class SimulationReport:
    actions: int = 0  # member turns: each is a request for a task, and whatever the member then did
    outcomes: Counter[str] = field(default_factory=Counter)
    exported: int = 0
    stopped_because: str = ""
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) of every acknowledged result
    tasks_taken: int = 0  # turns in which the member got a task card
    abandoned: int = 0  # task cards taken and then never acted on
    simulated_seconds: float = 0.0  # simulated time this run covered
    out_of_time: bool = False  # stopped because the hours it was given had passed

    @property
    def simulated_hours(self) -> float:
        return self.simulated_seconds / 3600.0


# Called once per acknowledged result, after its transaction committed: (kind, id, task id). The id is the
# message's for a "message", else the task's ("label", "ranking", "skip").
AckHook = Callable[[str, str, str], None]


class AckLog:
    """An external witness of what the engine acknowledged: one JSON line per result, appended to a file.

    Each line reaches the operating system (flushed) before the simulation acts again, so it survives the
    process being killed. It is not fsync'ed: the database's synchronous=NORMAL is durable against a process
    crash, not a power cut, and the witness must not promise more than the database it witnesses.
    """

    def __init__(self, path: Path) -> None:
        torn = path.is_file() and path.stat().st_size > 0 and not _ends_with_newline(path)
        self._file: TextIO = path.open("a", encoding="utf-8")
        if torn:  # an earlier run was killed mid-line: keep that fragment off this run's first line
            self._file.write("\n")

    def __call__(self, kind: str, id: str, task_id: str) -> None:
        self._file.write(json.dumps({"kind": kind, "id": id, "task": task_id}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


class Community:
    def __init__(
        self,
        engine: Engine,
        clock: FakeClock,
        *,
        seed: int | Sequence[int],
        langs: tuple[str, ...] = ("en",),
        on_acknowledged: AckHook | None = None,
        abandon: float = 0.0,
    ) -> None:
        if not 0.0 <= abandon < 1.0:
            raise ValueError(f"the chance to abandon a task must be at least 0 and below 1, not {abandon}")
        self.engine = engine
        self.abandon = abandon  # chance that a member leaves a task card they took without ever acting on it
        self.on_acknowledged = on_acknowledged
        self.clock = clock
        self.rng = np.random.default_rng(seed)
        self.langs = langs
        self.members: list[Member] = []
        self._counter = 0

    async def add_members(self, n: int) -> None:
        start = len(self.members)
        for i in range(start, start + n):
            user_id = await self.engine.ensure_user("sim", f"member{i}", f"Member {i}")
            await self.engine.give_consent(user_id)  # simulated members agree, as real ones do before contributing
            r = self.rng.random()
            self.members.append(
                Member(
                    user_id=user_id,
                    lang=self.langs[i % len(self.langs)],
                    spammer=r < 0.05,
                    flagger=0.05 <= r < 0.08,
                    skipper=0.2 if 0.08 <= r < 0.15 else 0.03,
                )
            )

    async def run(
        self,
        target_exported: int,
        *,
        max_actions: int = 100_000,
        hours: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> SimulationReport:
        """Act until `target_exported` trees are ready for export, `hours` of simulated time have passed, or
        nothing can move any more."""
        report = SimulationReport()
        started = self.clock.now()
        report.stopped_because = await self._run(report, target_exported, max_actions, hours, progress)
        report.exported = await self._exported()
        report.simulated_seconds = self.clock.now() - started
        return report

    async def _run(
        self,
        report: SimulationReport,
        target_exported: int,
        max_actions: int,
        hours: float | None,
        progress: Callable[[int, int], None] | None,
    ) -> str:
        """The turns of `run`; returns why it stopped."""
        deadline = None if hours is None else self.clock.now() + hours * 3600.0
        validity = self.engine.cfg.task_validity_minutes * 60.0
        idle = 0  # turns in a row in which nobody got a task
        idle_since = self.clock.now()  # when the current idle stretch began
        waited = False  # whether the members have waited for held tasks to expire since anyone got a task
        while report.actions < max_actions:
            if report.actions % JOB_TURNS == 0:
                await self._run_jobs()
                report.exported = await self._exported()
                if progress:
                    progress(report.exported, target_exported)
                if report.exported >= target_exported:
                    return f"{report.exported} trees are ready for export"
            if deadline is not None and self.clock.now() >= deadline:
                report.out_of_time = True
                return f"{hours:g} simulated hours have passed"
            member = self.members[int(self.rng.integers(len(self.members)))]
            outcome = await self.act(member, report)
            report.actions += 1
            report.outcomes[outcome] += 1
            if outcome != "no_task":
                idle = 0
            elif idle == 0:
                idle, idle_since = 1, self.clock.now()
            else:
                idle += 1
            waited = waited and outcome == "no_task"
            if idle <= 20 * len(self.members):
                continue
            if self.abandon:
                # Members who walk away from tasks are what is being measured: the slots their tasks hold come
                # free only as simulated time passes (the task expires, or the engine stops holding it), so the
                # others keep coming back at the usual pace until every such hold must have ended.
                if validity and self.clock.now() - idle_since <= validity + 3600.0:
                    continue
            elif not waited and validity:
                # Tasks handed out but never answered (their member gone, or a run killed) hold their slots
                # until they expire: wait that long once, for the expiry job to free them, before giving up.
                self.clock.advance(validity)
                await self._run_jobs()
                idle, waited = 0, True
                continue
            return "no member could get a task any more"
        return f"stopped after {max_actions} actions"

    async def _run_jobs(self) -> None:
        await self.engine.expire_tasks()
        for lang in self.langs:
            await self.engine.run_prompt_lottery(lang)
            await self.engine.run_auto_moderation(lang)
        await self.engine.retry_scoring()

    async def _exported(self) -> int:
        return (await self.engine.tree_counts()).get(TreeState.READY_FOR_EXPORT, 0)

    async def act(self, member: Member, report: SimulationReport) -> str:
        """One member turn; its simulated time follows what the member does (a glance for a card they leave)."""
        # Whether this member walks away from the card they get, drawn first so the turn's time can follow it
        # (nothing is drawn without abandonment: a run without it is the same as before abandonment existed).
        leaves = bool(self.abandon) and self.rng.random() < self.abandon
        self.clock.advance(float(self.rng.exponential(TURN_SECONDS * (GLANCE if leaves else 1.0))))
        task_type = await self._choose_type(member)
        try:
            task = await self.engine.next_task(member.user_id, member.lang, task_type)
        except errors.NoTaskAvailable:
            return "no_task"
        except errors.TooManyPending:
            return "too_many_pending"
        except errors.DomainError as exc:  # any other refusal (a rate limit, say): the member tries again later
            return f"unavailable:{exc.code.name}"
        report.tasks_taken += 1
        if leaves:
            report.abandoned += 1  # the card stays open: no submit, no skip, its slot held as the engine decides
            return "abandoned"
        try:
            if self.rng.random() < member.skipper:
                await self.engine.skip_task(task.id, member.user_id)
                self._acknowledge(report, "skip", task.id, task.id)
                return "skipped"
            if task.kind in (TaskKind.PROMPT, TaskKind.REPLY):
                result = await self.engine.submit_reply(task.id, member.user_id, self._text(member, task))
                self._acknowledge(report, "message", result.message_id or "", task.id)
            elif task.kind in (TaskKind.LABEL_PROMPT, TaskKind.LABEL_REPLY):
                await self.engine.submit_labels(task.id, member.user_id, self._labels(member, task))
                self._acknowledge(report, "label", task.id, task.id)
                if member.flagger and task.conversation:
                    await self.engine.react(member.user_id, task.conversation[-1].id, Emoji.RED_FLAG)
            else:
                ranking, not_rankable = self._ranking(task)
                await self.engine.submit_ranking(task.id, member.user_id, ranking, not_rankable=not_rankable)
                self._acknowledge(report, "ranking", task.id, task.id)
        except errors.DomainError as exc:
            return f"refused:{exc.code.name}"
        return task.kind.value

    def _acknowledge(self, report: SimulationReport, kind: str, id: str, task_id: str) -> None:
        report.acknowledged.append((kind, id))
        if self.on_acknowledged:
            self.on_acknowledged(kind, id, task_id)

    async def _choose_type(self, member: Member) -> TaskType | None:
        """Members mostly take random tasks; some ask for prompts while few trees are under way."""
        if self.rng.random() < 0.15:
            counts = await self.engine.tree_counts(member.lang)
            pipeline = (
                counts[TreeState.INITIAL_PROMPT_REVIEW]
                + counts[TreeState.PROMPT_LOTTERY_WAITING]
                + counts[TreeState.GROWING]
            )
            if pipeline < 12:
                return TaskType.INITIAL_PROMPT
        return None

    def _text(self, member: Member, task: Task) -> str:
        self._counter += 1
        quality = int(self.rng.integers(1, 100))
        if member.spammer:
            return f"{SPAM_MARK} #{self._counter}"
        who = "question" if task.type in (TaskType.INITIAL_PROMPT, TaskType.PROMPTER_REPLY) else "answer"
        return f"[{member.lang}] A thoughtful {who} number {self._counter} (quality {quality})."

    def _labels(self, member: Member, task: Task) -> dict[str, float]:
        target = task.conversation[-1].text if task.conversation else ""
        bad = SPAM_MARK in target or member.flagger
        out: dict[str, float] = {}
        for name in task.valid_labels:
            widget = LABELS[name].widget
            if name == "spam":
                out[name] = 1.0 if bad else 0.0
            elif name == "lang_mismatch":
                out[name] = 0.0
            elif task.label_mode is LabelMode.SIMPLE and name not in task.mandatory_labels and self.rng.random() < 0.5:
                continue
            elif widget is Widget.LIKERT:
                out[name] = float(self.rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]))
            else:
                out[name] = 0.0
        return out

    def _ranking(self, task: Task) -> tuple[list[int] | None, bool]:
        def quality(text: str) -> float:
            if SPAM_MARK in text:
                return -1.0
            try:
                return float(text.rsplit("(quality ", 1)[1].rstrip(").")) + float(self.rng.normal(0, 15))
            except (IndexError, ValueError):
                return 0.0

        scores = [quality(c.text) for c in task.candidates]
        if all(s < 0 for s in scores) and self.rng.random() < 0.5:
            return None, True
        return sorted(range(len(scores)), key=lambda i: -scores[i]), False

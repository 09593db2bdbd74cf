"""Persistent task buttons and modals: all state is in the custom_id and the database.

custom_id grammar (each ≤ 100 characters):
    g:t:<task id>:<action>[:<arg>]   a button on a task card (DynamicItem: works after a restart); `resume`
                                      retakes the task's place and draws its card (Continue after Stop, Resume
                                      in a list of open tasks)
    g:s:<task id>:<action>[:<arg>]   a select about a task (DynamicItem); `report` picks the reply of a ranking
                                      card to report (values: its letter, or `parent` for the message answered)
    g:m:<task id>:<action>[:<arg>]   a modal about a task (handled from the raw submit, so it also works
                                      when the modal was opened before a restart); `report:<letter|parent>`
                                      reports that reply of a ranking card
    g:n:<task type|any>:<lang>       "next task" after a card ran out of work, and "New task" on /task's offer
    g:o:<task id>:release[:<task type|any>:<lang>]
                                     Release on a list of open tasks: withdraws the task and redraws the list.
                                      Without the suffix the list is /tasks'; with it, /task's offer, whose
                                      "New task" asks for that kind in that language
    g:o:pick[:<task type|any>:<lang>]
                                     the select of a list of more than four open tasks (its value is a task
                                      id): redraws the list with Resume and Release for the chosen task
Only the member a task belongs to can act on it; the engine refuses everyone else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.context import engine_of
from cogs.errors import report_error
from cogs.i18n import N_, Tr, tr_for
from cogs.replies import send, text_back
from engine.errors import DomainError, ErrorCode
from engine.types import Task

if TYPE_CHECKING:
    from bot.bot import Grove
    from cogs.tasks.cards import Body
    from engine.engine import Engine

log = logging.getLogger("grove.interactions")

PREFIX = "g"  # every custom_id Grove makes starts with "g:"

TASK_ID = r"[0-9a-f-]{36}"
ARG = r"[A-Za-z0-9_.-]{0,40}"  # with a 36-char task id and a 12-char action: at most 94 characters
BUTTON = re.compile(rf"g:t:(?P<task>{TASK_ID}):(?P<action>[a-z_]{{1,12}})(?::(?P<arg>{ARG}))?")
SELECT = re.compile(rf"g:s:(?P<task>{TASK_ID}):(?P<action>[a-z_]{{1,12}})(?::(?P<arg>{ARG}))?")
MODAL = re.compile(rf"g:m:(?P<task>{TASK_ID}):(?P<action>[a-z_]{{1,12}})(?::(?P<arg>{ARG}))?")


@dataclass
class Act:
    """One press of a task button or one modal submit."""

    interaction: discord.Interaction[Grove]
    task_id: str
    action: str
    arg: str
    values: dict[str, Any]  # modal values by custom_id; a select's choices under SELECTED; empty for buttons
    tr: Tr  # the member's language

    @property
    def bot(self) -> Grove:
        return self.interaction.client

    async def member(self) -> int:
        return await self.bot.member_id(self.interaction.user)

    async def engine(self) -> Engine:
        """The engine within the interaction's community."""
        return await engine_of(self.interaction)


Handler = Callable[[Act], Awaitable[None]]
SELECTED = "selected"  # where a select's chosen values are in `Act.values`
BodyMaker = Callable[[Task, str, Tr], "Body"]  # (task, card state, the member's language)


@dataclass(frozen=True)
class CardPart:
    """What one module adds to task cards: the body of one family's cards, and the button, select and form actions
    it handles (by the action in their custom_id). `cogs.tasks.parts` lists every part; the Tasks cog installs them."""

    name: str
    family: str | None = None  # "write", "label" or "rank" (see `cards.family`): the cards it draws
    body: BodyMaker | None = None
    buttons: Mapping[str, Handler] = field(default_factory=dict)
    modals: Mapping[str, Handler] = field(default_factory=dict)
    selects: Mapping[str, Handler] = field(default_factory=dict)


class Parts:
    """The installed card parts: bodies by family, handlers by action. Installing a part twice changes nothing;
    two parts claiming one family or action is a programming error."""

    def __init__(self) -> None:
        self.bodies: dict[str, BodyMaker] = {}
        self.buttons: dict[str, Handler] = {}
        self.modals: dict[str, Handler] = {}
        self.selects: dict[str, Handler] = {}

    def install(self, parts: Iterable[CardPart]) -> None:
        for part in parts:
            if part.family is not None and part.body is not None:
                self._claim(self.bodies, part.family, part.body, f"{part.name}: family")
            for action, handler in part.buttons.items():
                self._claim(self.buttons, action, handler, f"{part.name}: button action")
            for action, handler in part.modals.items():
                self._claim(self.modals, action, handler, f"{part.name}: modal action")
            for action, handler in part.selects.items():
                self._claim(self.selects, action, handler, f"{part.name}: select action")

    @staticmethod
    def _claim(table: dict[str, Any], key: str, value: Any, what: str) -> None:
        if table.setdefault(key, value) is not value:
            raise ValueError(f"{what} {key!r} is already taken")

    def body(self, family: str) -> BodyMaker:
        try:
            return self.bodies[family]
        except KeyError:
            raise LookupError(f"no card part draws {family!r} cards; install cogs.tasks.parts first") from None


PARTS = Parts()


def button_id(task_id: str, action: str, arg: str = "") -> str:
    return f"g:t:{task_id}:{action}" + (f":{arg}" if arg else "")


def modal_id(task_id: str, action: str, arg: str = "") -> str:
    return f"g:m:{task_id}:{action}" + (f":{arg}" if arg else "")


def select_id(task_id: str, action: str, arg: str = "") -> str:
    return f"g:s:{task_id}:{action}" + (f":{arg}" if arg else "")


class TaskButton(ui.DynamicItem[ui.Button], template=BUTTON.pattern):
    def __init__(
        self,
        task_id: str,
        action: str,
        arg: str = "",
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        super().__init__(
            ui.Button(
                label=label, emoji=emoji, style=style, disabled=disabled, custom_id=button_id(task_id, action, arg)
            ),
            row=row,
        )
        self.task_id, self.action, self.arg = task_id, action, arg

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> TaskButton:
        return cls(match["task"], match["action"], match["arg"] or "")

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        handler = PARTS.buttons.get(self.action)
        tr = await tr_for(interaction)
        try:
            if handler is None:
                raise UnknownAction(self.action)
            await handler(Act(interaction, self.task_id, self.action, self.arg, {}, tr))
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)


class TaskSelect(ui.DynamicItem[ui.Select], template=SELECT.pattern):
    """A select about a task; its handler gets the chosen values under `SELECTED`."""

    def __init__(
        self,
        task_id: str,
        action: str,
        arg: str = "",
        *,
        options: list[discord.SelectOption],
        placeholder: str | None = None,
        row: int | None = None,
    ) -> None:
        select: ui.Select[Any] = ui.Select(
            custom_id=select_id(task_id, action, arg), options=options, placeholder=placeholder
        )
        super().__init__(select, row=row)
        self.task_id, self.action, self.arg = task_id, action, arg

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> TaskSelect:
        options = list(item.options) if isinstance(item, ui.Select) else []
        return cls(match["task"], match["action"], match["arg"] or "", options=options)

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        handler = PARTS.selects.get(self.action)
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        chosen = [str(v) for v in data.get("values") or []]
        tr = await tr_for(interaction)
        try:
            if handler is None:
                raise UnknownAction(self.action)
            await handler(Act(interaction, self.task_id, self.action, self.arg, {SELECTED: chosen}, tr))
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)


class UnknownAction(DomainError):
    """A task button or form with an action Grove does not know: forged, or left from another version."""

    code = ErrorCode.TASK_WRONG_KIND
    default_message = N_(
        "Grove does not know this button or form (perhaps an older version); use {task} for a new card."
    )

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action


STALE_BUTTON_TEXT = N_(
    "This button is out of date or not one of Grove's; nothing was changed. Use {task} for a new card."
)
STALE_FORM_TEXT = N_("This form is out of date or not one of Grove's; nothing was stored. Use {task} for a new card.")
STALE_BUTTON = Tr()(STALE_BUTTON_TEXT, task="/task")  # in English, as logs and tests quote them
STALE_FORM = Tr()(STALE_FORM_TEXT, task="/task")


def is_persistent_item(custom_id: str) -> bool:
    """Whether a DynamicItem (every button Grove makes is one) takes this custom_id, so it will be answered."""
    pending: list[type] = [ui.DynamicItem]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        template = getattr(cls, "__discord_ui_compiled_template__", None)
        if template is not None and template.fullmatch(custom_id):
            return True
    return False


async def answer_stale(interaction: discord.Interaction[Grove]) -> None:
    """Answer a Grove component or form that nothing handles (its custom_id starts with "g:" but fits no grammar):
    a clear word instead of Discord's "This interaction failed"; any text typed into a form is given back."""
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    if not str(data.get("custom_id", "")).startswith(f"{PREFIX}:"):
        return
    try:
        if interaction.type is discord.InteractionType.modal_submit:
            tr = await tr_for(interaction)
            typed = [v for v in modal_values(list(data.get("components", []))).values() if isinstance(v, str) and v]
            embeds, files = text_back(tr, "\n\n".join(typed))
            await send(interaction, f"⚠️ {tr(STALE_FORM_TEXT, task=tr.command('task'))}", embeds=embeds, files=files)
        elif interaction.type is discord.InteractionType.component and not is_persistent_item(data["custom_id"]):
            tr = await tr_for(interaction)
            await send(interaction, f"⚠️ {tr(STALE_BUTTON_TEXT, task=tr.command('task'))}")
    except discord.HTTPException as exc:  # the interaction expired meanwhile: nothing more to do
        log.warning("could not answer stale custom_id %r of user %s: %s", data["custom_id"], interaction.user.id, exc)


def modal_values(components: list[dict[str, Any]]) -> dict[str, Any]:
    """custom_id -> submitted value (text) or values (selects, radio and checkbox groups) of a raw modal submit."""
    out: dict[str, Any] = {}

    def visit(c: dict[str, Any]) -> None:
        if not isinstance(c, dict):  # not a component: ignore rather than fail on a malformed submit
            return
        if "custom_id" in c and ("value" in c or "values" in c):
            out[c["custom_id"]] = c["value"] if "value" in c else list(c["values"])
        for child in c.get("components", ()) or ():
            visit(child)
        if isinstance(c.get("component"), dict):
            visit(c["component"])

    for component in components:
        visit(component)
    return out


async def dispatch_modal(interaction: discord.Interaction[Grove]) -> bool:
    """Handle a Grove modal submit from its raw data; False when it is not one of ours."""
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    match = MODAL.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return False
    handler = PARTS.modals.get(match["action"])
    values = modal_values(list(data.get("components") or []))
    tr = await tr_for(interaction)
    try:
        if handler is None:
            raise UnknownAction(match["action"])
        await handler(Act(interaction, match["task"], match["action"], match["arg"] or "", values, tr))
    except Exception as exc:
        text = values.get("text")
        await report_error(interaction, exc, typed=text if isinstance(text, str) else "", tr=tr)
    return True


async def open_modal(interaction: discord.Interaction[Grove], modal: ui.Modal) -> None:
    """Show a modal; its submit is handled from the raw payload (see dispatch_modal), never from memory."""
    await interaction.response.send_modal(modal)
    modal.stop()  # drop it from discord.py's store: one code path for before and after a restart

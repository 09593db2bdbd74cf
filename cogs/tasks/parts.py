"""Every part of a task card, listed once. The Tasks cog installs them when it loads; a new kind of card is a
module with a `PART` (its body and actions) added here."""

from __future__ import annotations

from cogs.tasks import flow, labelling, ranking, reporting, resume, writing
from cogs.tasks.items import PARTS, CardPart, TaskButton, TaskSelect

CARD_PARTS: tuple[CardPart, ...] = (flow.PART, writing.PART, labelling.PART, ranking.PART, reporting.PART, resume.PART)
# the persistent buttons and selects of task cards and of lists of open tasks
DYNAMIC_ITEMS = (TaskButton, TaskSelect, flow.NextButton, resume.ReleaseButton, resume.PickSelect)


def install() -> None:
    """Make every card part's body and actions known (idempotent: the parts are code, the same for every bot)."""
    PARTS.install(CARD_PARTS)

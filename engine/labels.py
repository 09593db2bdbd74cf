"""The label vocabulary (reference §3.5): each label's widget and what a value of 1 means."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Widget(StrEnum):
    YES_NO = "yes_no"  # 0 or 1
    FLAG = "flag"  # 0 or 1, 1 = flagged
    LIKERT = "likert"  # 0, 0.25, 0.5, 0.75, 1


@dataclass(frozen=True)
class LabelInfo:
    name: str
    widget: Widget
    question: str


LABELS: dict[str, LabelInfo] = {
    info.name: info
    for info in (
        LabelInfo("spam", Widget.YES_NO, "Is this low-effort, off-topic or junk?"),
        LabelInfo("fails_task", Widget.YES_NO, "Does the reply fail to do what was asked?"),
        LabelInfo("lang_mismatch", Widget.FLAG, "Is it written in another language than the task's?"),
        LabelInfo("pii", Widget.FLAG, "Does it contain personal information about someone?"),
        LabelInfo("not_appropriate", Widget.FLAG, "Is it inappropriate?"),
        LabelInfo(
            "hate_speech",
            Widget.FLAG,
            "Is it abusive or threatening towards people for their gender, ethnicity, religion, orientation or alike?",
        ),
        LabelInfo("sexual_content", Widget.FLAG, "Does it contain sexual content?"),
        LabelInfo("moral_judgement", Widget.FLAG, "Does it express a moral judgement?"),
        LabelInfo("political_content", Widget.FLAG, "Does it express political views?"),
        LabelInfo("quality", Widget.LIKERT, "How good is it overall? (low to high)"),
        LabelInfo("toxicity", Widget.LIKERT, "How rude, abusive or insulting is it?"),
        LabelInfo("humor", Widget.LIKERT, "How humorous is it?"),
        LabelInfo("helpfulness", Widget.LIKERT, "How helpful is it?"),
        LabelInfo("creativity", Widget.LIKERT, "How creative is it?"),
        LabelInfo("violence", Widget.LIKERT, "How much violence, abuse or self-harm does it contain?"),
    )
}

LIKERT_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)

"""Guidelines shown beside every task (the reference website's, in Grove's words)."""

from __future__ import annotations

from cogs.i18n import N_, Tr
from engine.types import TaskKind, TaskType

# Each block is one catalog message: translate it whole (keep the "• " bullets and the **bold** first line).
GENERAL = N_(
    "• Be helpful, honest and kind. Never share personal data (yours or anyone's).\n"
    "• Write in the task's language. Markdown works.\n"
    "• Skipping is fine: a skipped item is never shown to you again."
)
BY_KIND = {
    TaskKind.PROMPT: N_(
        "**Writing a prompt**\n"
        "• Ask something a capable assistant should answer: a question, a task, a request for advice or ideas.\n"
        "• Vary topics and styles; give the context a person would give.\n"
        "• No greetings only, no copy-pasted text you don't have rights to."
    ),
    TaskKind.REPLY: N_(
        "**Replying**\n"
        "• As the assistant: answer the last message fully and correctly; say so when you don't know; refuse "
        "harmful requests politely and explain why.\n"
        "• As the user: continue naturally — ask a follow-up, push back, change the request.\n"
        "• Read the whole conversation first; keep it consistent with what was said."
    ),
    TaskKind.LABEL_PROMPT: N_(
        "**Reviewing a prompt**\n"
        "• Spam: not a real attempt (gibberish, ads, tests, copy of another prompt).\n"
        "• Wrong language: not written in the task's language.\n"
        "• Scales go from 1 (not at all) to 5 (very). Answer what you can judge; required questions are marked."
    ),
    TaskKind.LABEL_REPLY: N_(
        "**Reviewing a reply**\n"
        "• Judge the marked message in its conversation.\n"
        "• Spam and wrong language first; then flags (PII, hate speech, sexual content…) and 1–5 scales.\n"
        "• A short correct answer can be excellent; a long wrong one is not."
    ),
    TaskKind.RANKING: N_(
        "**Ranking**\n"
        "• Tap the best reply first, then the next best; the last one is placed for you.\n"
        "• Prefer correct, helpful, safe and well-written replies, in that order.\n"
        "• If every reply is bad, press *All bad*: that is useful data too."
    ),
}


def guidelines_for(tr: Tr, task_type: TaskType | None) -> str:
    if task_type is None:
        return "\n\n".join([tr(GENERAL), *(tr(text) for text in BY_KIND.values())])
    return f"{tr(BY_KIND[task_type.kind])}\n\n{tr(GENERAL)}"

"""What each domain error says, in the member's language.

The engine raises `DomainError`s with an English sentence: its class's `default_message`, or a more specific one
(e.g. "Your text has 2300 characters; the limit is 2000."). Here each is a catalog message:

    DEFAULTS      ErrorCode -> the class's default sentence (kept equal to `engine.errors` by a test)
    SENTENCES     the engine's specific sentences; those with specifics are templates whose `{names}` are read
                  back out of the engine's English (a test keeps every sentence the engine raises listed here)

`error_text` finds the sentence an error carries and says it in the member's language; a sentence found in
neither table (one a cog already wrote in the member's language) is shown as it is.
"""

from __future__ import annotations

import functools
import re

from cogs.i18n import N_, Tr, relative
from engine.errors import DomainError, ErrorCode, RateLimited
from engine.types import TaskType

DEFAULTS: dict[ErrorCode, str] = {
    ErrorCode.NO_TASK_AVAILABLE: N_("There is no task of that kind for you right now."),
    ErrorCode.MESSAGE_TOO_LONG: N_("Your text is too long."),
    ErrorCode.MESSAGE_DUPLICATED: N_("You sent exactly this text a short while ago; please write something new."),
    ErrorCode.MESSAGE_EMPTY: N_("Your text is empty."),
    ErrorCode.DUPLICATE_REPLY: N_("You have already replied to this message."),
    ErrorCode.TOO_MANY_PENDING: N_("You have too many open tasks; finish or skip some before asking for more."),
    ErrorCode.UNKNOWN_TASK_TYPE: N_("That task type does not exist."),
    ErrorCode.INVALID_LANGUAGE: N_("That is not a language code Grove accepts."),
    ErrorCode.TREE_NOT_ACCEPTING: N_("This conversation no longer accepts this contribution."),
    ErrorCode.TREE_NOT_FOUND: N_("There is no such conversation tree."),
    ErrorCode.MESSAGE_NOT_FOUND: N_("There is no such message."),
    ErrorCode.INVALID_STATE_CHANGE: N_("That tree cannot change state that way."),
    ErrorCode.INVALID_RANKING: N_("A ranking must order every answer shown exactly once."),
    ErrorCode.CORRUPT_RANKING: N_("The answers to rank have changed; please take a new task."),
    ErrorCode.LABELS_WRONG_MESSAGE: N_("These labels are for a different message than the task's."),
    ErrorCode.LABELS_INVALID_LABEL: N_("That label does not belong to this task."),
    ErrorCode.LABELS_MANDATORY_MISSING: N_("A required label is missing."),
    ErrorCode.LABELS_SELF_LABELING: N_("You cannot review your own message."),
    ErrorCode.LABELS_DUPLICATE: N_("You have already reviewed this message."),
    ErrorCode.LABELS_INVALID_VALUE: N_("Label values must lie between 0 and 1."),
    ErrorCode.TASK_NOT_FOUND: N_("That task does not exist."),
    ErrorCode.TASK_EXPIRED: N_("This task has expired; ask for a new one."),
    ErrorCode.TASK_WRONG_KIND: N_("That answer does not fit this kind of task."),
    ErrorCode.TASK_ALREADY_UPDATED: N_("This task was already posted elsewhere."),
    ErrorCode.TASK_NOT_ACK: N_("This task was not delivered yet."),
    ErrorCode.TASK_ALREADY_DONE: N_("This task is already done."),
    ErrorCode.TASK_NOT_YOURS: N_("This task belongs to someone else."),
    ErrorCode.TASK_SKIPPED: N_("You skipped this task."),
    ErrorCode.TASK_CANCELLED: N_(
        "This task was withdrawn because its conversation changed in the meantime; ask for a new one."
    ),
    ErrorCode.TASK_SLOT_TAKEN: N_(
        "While this card sat idle, someone else took its place in the conversation; your text is kept as a draft."
    ),
    ErrorCode.RATE_LIMITED: N_("You have asked for many tasks in a short time; please wait a little."),
    ErrorCode.USER_DISABLED: N_("You are not allowed to take tasks."),
    ErrorCode.USER_NOT_FOUND: N_("There is no such member."),
    ErrorCode.CONSENT_REQUIRED: N_(
        "You have not agreed to how Grove uses contributions, so nothing of yours was stored."
    ),
    ErrorCode.ALREADY_DONE: N_("That was already done; nothing changed."),
    ErrorCode.INVALID_EMOJI: N_("That reaction has no meaning here."),
    ErrorCode.NOT_A_LANGUAGE_CHANNEL: N_("That channel has no language set."),
    ErrorCode.COMMUNITY_NOT_FOUND: N_("There is no such community."),
    ErrorCode.LANGUAGE_NOT_ENABLED: N_(
        "That language is not enabled here; a server admin can enable it with /config language add."
    ),
    ErrorCode.LANGUAGE_IN_USE: N_(
        "That language is this server's default language or a language channel's; change those first."
    ),
}

SENTENCES: tuple[str, ...] = (
    # handing out
    N_("There is no task for you right now; please try again later."),
    N_("No new prompts are wanted in this language right now."),
    N_("No conversation is waiting for that kind of reply right now."),
    N_("No prompt is waiting for your review right now."),
    N_("No reply is waiting for your review right now."),
    N_("No answers are waiting to be ranked by you right now."),
    N_("“{code}” is not a language code such as en, de or pt-BR."),
    N_("“{type}” is not a task type."),
    # moderation
    N_("This tree is already halted."),
    N_("Only a halted tree can be resumed."),
    N_("Restore the prompt before resuming its tree."),
    N_("This conversation was withdrawn: a member deleted their texts in it."),
    N_("This server is already in that community."),
    N_("This message is already deleted."),
    N_("This message is not deleted."),
    N_("Its author deleted their data; there is nothing to restore."),
    N_("Restore the message it answers first."),
    N_("This conversation has grown on without that message; restoring it would overfill it."),
    N_("This member's data was purged; they cannot be unbanned."),
    # privacy
    N_("Your name was already removed from your contributions; nothing changed."),
    N_("Your texts were already deleted; nothing changed."),
    # texts, labels, rankings
    N_("Your text has only invisible characters (such as zero-width spaces); please write something."),
    N_("Your text has {length} characters; the limit is {limit}."),
    N_("Your text contains a NUL character, which cannot be stored."),
    N_("Your text contains broken characters (lone surrogates), which cannot be stored."),
    N_("Labels must map label names to numbers."),
    N_("“{label}” is not one of this task's labels."),
    N_("The value of “{label}” must be a number between 0 and 1."),
    N_("The value of “{label}” must lie between 0 and 1, not {value}."),
    N_("Please answer: {labels}."),
    N_("A ranking must list each of the {number} answers exactly once."),
    N_("Only writing tasks keep drafts."),
    N_("The message you answered has been removed."),
    N_("This conversation has stopped taking replies."),
    N_("The message to review has been removed; ask for a new task."),
    N_("This message no longer needs reviews."),
    N_("These answers are no longer being ranked."),
    N_("Please order the answers, or mark them all as bad."),
)
RATE = re.compile(
    r"You have (?:asked for (?P<count>\d+) (?:tasks|(?P<kind>[a-z ]+) tasks by name)|written (?P<prompts>\d+) prompts) "
    r"within (?P<n>\d+) (?P<unit>minutes|seconds); you can (?:ask again|write more) shortly\."
)
TYPE_TITLES = {
    TaskType.INITIAL_PROMPT: N_("Write a prompt"),
    TaskType.PROMPTER_REPLY: N_("Reply as the user"),
    TaskType.ASSISTANT_REPLY: N_("Reply as the assistant"),
}


def pattern(template: str) -> re.Pattern[str]:
    """A regular expression that reads a template's `{names}` back out of the English sentence."""
    parts = re.split(r"\{(\w+)\}", template)
    body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(body)


@functools.cache
def patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((template, pattern(template)) for template in SENTENCES if "{" in template)


def error_text(tr: Tr, error: DomainError) -> str:
    """What a domain error says, in the member's language (the engine's English where no message fits)."""
    message = error.message
    if message == type(error).default_message:
        if type(error).__module__ == "engine.errors":
            return tr(DEFAULTS.get(error.code, message))
        return tr(message, task=tr.command("task"), tasks=tr.command("tasks"))  # a cog's own error
    if message in SENTENCES:
        return tr(message)
    for template, regex in patterns():
        if match := regex.fullmatch(message):
            values = {k: int(v) if v.isdigit() else v for k, v in match.groupdict().items()}
            return tr(template, **values)
    return message


def rate_limited(tr: Tr, error: RateLimited) -> str:
    """Why a request was refused, and when the member may ask again (a Discord timestamp, shown in their own time
    zone, e.g. "in 2 minutes")."""
    match = RATE.fullmatch(error.message)
    if error.retry_at <= 0 or match is None:
        return error_text(tr, error)
    n = int(match["n"])
    if match["unit"] == "minutes":
        span = tr.plural("{count} minute", "{count} minutes", n)
    else:
        span = tr.plural("{count} second", "{count} seconds", n)
    when = relative(error.retry_at)
    if match["prompts"]:  # the prompt cap (`prompts_per_window`)
        return tr.plural(
            "You have written {count} prompt within {span}. You can write more {when}.",
            "You have written {count} prompts within {span}. You can write more {when}.",
            int(match["prompts"]),
            span=span,
            when=when,
        )
    count = int(match["count"])
    if match["kind"]:
        kind = next((title for t, title in TYPE_TITLES.items() if t.value == match["kind"].replace(" ", "_")), "")
        return tr.plural(
            "You have asked for {count} “{kind}” task by name within {span}. You can ask again {when}.",
            "You have asked for {count} “{kind}” tasks by name within {span}. You can ask again {when}.",
            count,
            kind=tr(kind) if kind else match["kind"],
            span=span,
            when=when,
        )
    return tr.plural(
        "You have asked for {count} task within {span}. You can ask again {when}.",
        "You have asked for {count} tasks within {span}. You can ask again {when}.",
        count,
        span=span,
        when=when,
    )

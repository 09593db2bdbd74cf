"""Domain errors: every failure a user can cause, each with a unique code and a sentence a person understands."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    # task requests
    NO_TASK_AVAILABLE = 1006
    MESSAGE_TOO_LONG = 1008
    MESSAGE_DUPLICATED = 1009
    MESSAGE_EMPTY = 1010
    DUPLICATE_REPLY = 1011
    TOO_MANY_PENDING = 1012
    UNKNOWN_TASK_TYPE = 1013
    INVALID_LANGUAGE = 1014
    # trees
    TREE_NOT_ACCEPTING = 2010
    TREE_NOT_FOUND = 2012
    MESSAGE_NOT_FOUND = 2013
    INVALID_STATE_CHANGE = 2014
    # rankings
    INVALID_RANKING = 2003
    CORRUPT_RANKING = 2011
    # labels
    LABELS_WRONG_MESSAGE = 2050
    LABELS_INVALID_LABEL = 2051
    LABELS_MANDATORY_MISSING = 2052
    LABELS_SELF_LABELING = 2053
    LABELS_DUPLICATE = 2054
    LABELS_INVALID_VALUE = 2055
    # task lifecycle
    TASK_NOT_FOUND = 2100
    TASK_EXPIRED = 2101
    TASK_WRONG_KIND = 2102
    TASK_ALREADY_UPDATED = 2103
    TASK_NOT_ACK = 2104
    TASK_ALREADY_DONE = 2105
    TASK_NOT_YOURS = 2106
    TASK_SKIPPED = 2107
    TASK_CANCELLED = 2108
    TASK_SLOT_TAKEN = 2109
    RATE_LIMITED = 1015
    # users
    USER_DISABLED = 4001
    USER_NOT_FOUND = 4002
    CONSENT_REQUIRED = 4003
    ALREADY_DONE = 4004
    # emojis
    INVALID_EMOJI = 5001
    # server settings
    NOT_A_LANGUAGE_CHANNEL = 6001
    COMMUNITY_NOT_FOUND = 6002
    LANGUAGE_NOT_ENABLED = 6003
    LANGUAGE_IN_USE = 6004


class DomainError(Exception):
    """A failure caused by what a user did or asked; safe to show them.

    `text` carries back what the user typed, when they typed anything, so a front-end
    can give it back to them instead of losing it.
    """

    code: ErrorCode = ErrorCode.TASK_NOT_FOUND
    default_message = "That did not work."

    def __init__(self, message: str | None = None, *, text: str | None = None) -> None:
        self.message = message or self.default_message
        self.text = text
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name}: {self.message!r})"


def _error(name: str, code: ErrorCode, message: str) -> type[DomainError]:
    return type(name, (DomainError,), {"code": code, "default_message": message})


NoTaskAvailable = _error(
    "NoTaskAvailable", ErrorCode.NO_TASK_AVAILABLE, "There is no task of that kind for you right now."
)
MessageTooLong = _error("MessageTooLong", ErrorCode.MESSAGE_TOO_LONG, "Your text is too long.")
MessageDuplicated = _error(
    "MessageDuplicated",
    ErrorCode.MESSAGE_DUPLICATED,
    "You sent exactly this text a short while ago; please write something new.",
)
MessageEmpty = _error("MessageEmpty", ErrorCode.MESSAGE_EMPTY, "Your text is empty.")
DuplicateReply = _error("DuplicateReply", ErrorCode.DUPLICATE_REPLY, "You have already replied to this message.")
TooManyPending = _error(
    "TooManyPending",
    ErrorCode.TOO_MANY_PENDING,
    "You have too many open tasks; finish or skip some before asking for more.",
)
UnknownTaskType = _error("UnknownTaskType", ErrorCode.UNKNOWN_TASK_TYPE, "That task type does not exist.")
InvalidLanguage = _error("InvalidLanguage", ErrorCode.INVALID_LANGUAGE, "That is not a language code Grove accepts.")
TreeNotAccepting = _error(
    "TreeNotAccepting",
    ErrorCode.TREE_NOT_ACCEPTING,
    "This conversation no longer accepts this contribution.",
)
TreeNotFound = _error("TreeNotFound", ErrorCode.TREE_NOT_FOUND, "There is no such conversation tree.")
MessageNotFound = _error("MessageNotFound", ErrorCode.MESSAGE_NOT_FOUND, "There is no such message.")
InvalidStateChange = _error(
    "InvalidStateChange", ErrorCode.INVALID_STATE_CHANGE, "That tree cannot change state that way."
)
InvalidRanking = _error(
    "InvalidRanking", ErrorCode.INVALID_RANKING, "A ranking must order every answer shown exactly once."
)
CorruptRanking = _error(
    "CorruptRanking", ErrorCode.CORRUPT_RANKING, "The answers to rank have changed; please take a new task."
)
LabelsWrongMessage = _error(
    "LabelsWrongMessage", ErrorCode.LABELS_WRONG_MESSAGE, "These labels are for a different message than the task's."
)
LabelsInvalidLabel = _error(
    "LabelsInvalidLabel", ErrorCode.LABELS_INVALID_LABEL, "That label does not belong to this task."
)
LabelsMandatoryMissing = _error(
    "LabelsMandatoryMissing", ErrorCode.LABELS_MANDATORY_MISSING, "A required label is missing."
)
LabelsSelfLabeling = _error("LabelsSelfLabeling", ErrorCode.LABELS_SELF_LABELING, "You cannot review your own message.")
LabelsDuplicate = _error("LabelsDuplicate", ErrorCode.LABELS_DUPLICATE, "You have already reviewed this message.")
LabelsInvalidValue = _error(
    "LabelsInvalidValue", ErrorCode.LABELS_INVALID_VALUE, "Label values must lie between 0 and 1."
)
TaskNotFound = _error("TaskNotFound", ErrorCode.TASK_NOT_FOUND, "That task does not exist.")
TaskExpired = _error("TaskExpired", ErrorCode.TASK_EXPIRED, "This task has expired; ask for a new one.")
TaskWrongKind = _error("TaskWrongKind", ErrorCode.TASK_WRONG_KIND, "That answer does not fit this kind of task.")
TaskAlreadyUpdated = _error(
    "TaskAlreadyUpdated", ErrorCode.TASK_ALREADY_UPDATED, "This task was already posted elsewhere."
)
TaskNotAck = _error("TaskNotAck", ErrorCode.TASK_NOT_ACK, "This task was not delivered yet.")
TaskAlreadyDone = _error("TaskAlreadyDone", ErrorCode.TASK_ALREADY_DONE, "This task is already done.")
TaskNotYours = _error("TaskNotYours", ErrorCode.TASK_NOT_YOURS, "This task belongs to someone else.")
TaskSkipped = _error("TaskSkipped", ErrorCode.TASK_SKIPPED, "You skipped this task.")
TaskCancelled = _error(
    "TaskCancelled",
    ErrorCode.TASK_CANCELLED,
    "This task was withdrawn because its conversation changed in the meantime; ask for a new one.",
)
TaskSlotTaken = _error(
    "TaskSlotTaken",
    ErrorCode.TASK_SLOT_TAKEN,
    "While this card sat idle, someone else took its place in the conversation; your text is kept as a draft.",
)


class RateLimited(DomainError):
    """Too many requests in a short time; `retry_at` (epoch seconds) is when the next one is allowed."""

    code = ErrorCode.RATE_LIMITED
    default_message = "You have asked for many tasks in a short time; please wait a little."

    def __init__(self, message: str | None = None, *, text: str | None = None, retry_at: float = 0.0) -> None:
        super().__init__(message, text=text)
        self.retry_at = retry_at


UserDisabled = _error("UserDisabled", ErrorCode.USER_DISABLED, "You are not allowed to take tasks.")
UserNotFound = _error("UserNotFound", ErrorCode.USER_NOT_FOUND, "There is no such member.")
ConsentRequired = _error(
    "ConsentRequired",
    ErrorCode.CONSENT_REQUIRED,
    "You have not agreed to how Grove uses contributions, so nothing of yours was stored.",
)
AlreadyDone = _error("AlreadyDone", ErrorCode.ALREADY_DONE, "That was already done; nothing changed.")
InvalidEmoji = _error("InvalidEmoji", ErrorCode.INVALID_EMOJI, "That reaction has no meaning here.")
NotALanguageChannel = _error(
    "NotALanguageChannel", ErrorCode.NOT_A_LANGUAGE_CHANNEL, "That channel has no language set."
)
CommunityNotFound = _error("CommunityNotFound", ErrorCode.COMMUNITY_NOT_FOUND, "There is no such community.")
LanguageNotEnabled = _error(
    "LanguageNotEnabled",
    ErrorCode.LANGUAGE_NOT_ENABLED,
    "That language is not enabled here; a server admin can enable it with /config language add.",
)
LanguageInUse = _error(
    "LanguageInUse",
    ErrorCode.LANGUAGE_IN_USE,
    "That language is this server's default language or a language channel's; change those first.",
)


class DatabaseBusy(Exception):  # not a DomainError: nobody did anything wrong
    """Another connection (another process) held the database longer than the busy timeout."""


class StorageFull(Exception):  # not a DomainError either: the server's disk (or the database's size cap) is full
    """A write found no room; it was rolled back, so nothing of it was stored."""


ALL_ERRORS: tuple[type[DomainError], ...] = tuple(
    obj
    for obj in list(globals().values())
    if isinstance(obj, type) and issubclass(obj, DomainError) and obj is not DomainError
)

"""Invisible text (issue "Fair task flow", item 5): a reply that shows nothing is refused like an empty one.

Zero-width spaces and joiners, the word joiner, the BOM, the soft hyphen and the other format characters (Cf),
controls and whitespace show nothing on their own; a text made only of them is refused with MessageEmpty and
kept as the task's draft. A text with something visible is stored as typed (only surrounding whitespace is
stripped), its format characters included.
"""

from __future__ import annotations

import unicodedata

import pytest

from engine import EngineConfig, TaskStatus, TaskType, errors, policy

CFG = EngineConfig()

INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u00ad",  # soft hyphen
    "\u200e\u200f",  # direction marks
    "\u202e\u202c",  # a right-to-left override and its end
    "\u2800",  # blank braille pattern
    "\u3164",  # Hangul filler
    "\ufe0f",  # a variation selector on nothing
    "\x01\x7f",  # controls
    " \u200b\n\t\u200d \ufeff ",  # mixed with whitespace
    "\u200b" * 5000,  # invisible, and longer than the size limit: empty comes first
]

VISIBLE = [
    "👨\u200d👩\u200d👧",  # a family: emoji joined by zero-width joiners
    "🏳\ufe0f\u200d🌈",  # a flag: variation selector and joiner
    "no\u00adbreak",  # a soft hyphen inside a word
    "\u200bhello\u200b",  # zero-width spaces around a word
    "\u200fשלום",  # a direction mark before Hebrew
    "x",
    "e\u0301",  # a combining accent on a letter
]


def test_every_format_character_alone_is_invisible():
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cf":
            assert policy.is_invisible(char), f"U+{code:04X}"
    assert not policy.is_invisible("a") and not policy.is_invisible("👨") and not policy.is_invisible("\u0301")


@pytest.mark.parametrize("text", INVISIBLE, ids=lambda t: " ".join(f"U+{ord(c):04X}" for c in t[:6]))
def test_invisible_text_is_refused_as_empty(text):
    with pytest.raises(errors.MessageEmpty) as exc:
        policy.clean_reply_text(text, CFG)
    assert exc.value.code == errors.ErrorCode.MESSAGE_EMPTY
    assert exc.value.text == text  # the member gets back what they typed


@pytest.mark.parametrize("text", VISIBLE)
def test_visible_text_keeps_its_format_characters(text):
    assert policy.clean_reply_text(text, CFG) == text


def test_only_surrounding_whitespace_is_stripped_not_format_characters():
    assert policy.clean_reply_text("  \u200bhi\u200d \n", CFG) == "\u200bhi\u200d"


def test_the_size_limit_still_applies_to_visible_text():
    with pytest.raises(errors.MessageTooLong):
        policy.clean_reply_text("x" + "\u200b" * CFG.message_size_limit, CFG)


@pytest.mark.parametrize("text", ["\u200b", "\u200c\u200d\u2060", " \ufeff\u00ad\n", "\u2800\u2800"])
async def test_the_engine_refuses_invisible_text_and_keeps_it_as_the_draft(engine, users, text):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.MessageEmpty) as exc:
        await engine.submit_reply(task.id, users[0], text)
    assert exc.value.text == text
    after = await engine.get_task(task.id, users[0])
    assert after.status is TaskStatus.PENDING
    assert after.draft == text
    async with engine.db.read() as repo:
        assert await repo.tree_ids_in_state("initial_prompt_review") == []


async def test_the_engine_stores_an_emoji_sequence_unchanged(engine, users):
    family = "👨\u200d👩\u200d👧"
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    result = await engine.submit_reply(task.id, users[0], f" {family} \n")
    assert result.message_id is not None
    assert (await engine.message(result.message_id)).text == family
    assert (await engine.get_task(task.id, users[0])).draft is None


async def test_a_draft_check_refuses_invisible_text_too(engine, users):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.MessageEmpty):
        await engine.save_draft(task.id, users[0], "\u200b\u200b", check=True)
    assert (await engine.get_task(task.id, users[0])).draft == "\u200b\u200b"

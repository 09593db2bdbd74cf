"""Hostile input at the engine's public API: each bad input gets its own domain error and changes nothing.

Arbitrary text (empty, whitespace, 10^5 characters, control and format characters, any unicode but lone
surrogates, markdown and mention syntax), unknown and foreign ids, out-of-range labels and rankings that
are not permutations. `tests/engine/test_properties.py` runs random sequences of operations; here each input
channel is attacked on its own, with an exact oracle. Hypothesis examples share one world per test:
a refusal must leave every row as it was, so the next example finds the same world; an accepted
input goes to a fresh member's fresh task.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from engine import Engine, TaskStatus, TaskType, TreeState, errors
from engine.check import check_database
from engine.lang import normalize_lang
from engine.types import Emoji, EmojiOp
from storage.database import Database
from tests.driver import GOOD, Driver, answer, member

SHARED_WORLD = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
Snapshot = dict[str, list[tuple[Any, ...]]]

# ---------------------------------------------------------------------------------------------- strategies

UNICODE = st.characters(codec="utf-8")  # every code point but the lone surrogates, which UTF-8 cannot carry
SURROGATE = st.characters(categories=["Cs"])  # what a broken client or a bad JSON escape can produce
CONTROL = st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"], codec="utf-8")  # controls, format, spaces
DISCORD_SYNTAX = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@123456789012345678>",
        "<@!123456789012345678>",
        "<@&123456789012345678>",
        "<#123456789012345678>",
        "</task:123456789012345678>",
        "<t:0:R>",
        "<:grove:123456789012345678>",
        "```py\nprint(1)\n```",
        "**bold** __under__ ~~gone~~ ||spoiler||",
        "> quoted\n>>> block",
        "[a link](https://example.com)",
        "# heading",
        "\u202eevil\u202c",  # right-to-left override
        "\u200b",  # zero width space (not whitespace for str.strip)
        "\x00",
        "\ufeff",
        "e\u0301",  # a combining accent
        "👩‍👩‍👧‍👦",
    ]
)
LONG = st.builds(
    lambda pad, char, n, tail: pad + char * n + tail,
    st.text(CONTROL, max_size=3),
    UNICODE,
    st.one_of(st.sampled_from([1999, 2000, 2001, 100_000]), st.integers(0, 100_000)),
    st.text(CONTROL, max_size=3),
)
TEXTS = st.one_of(
    st.text(UNICODE),
    st.builds(lambda a, s, b: a + s + b, st.text(UNICODE, max_size=5), SURROGATE, st.text(UNICODE, max_size=5)),
    st.text(CONTROL),
    st.lists(st.one_of(st.text(UNICODE, max_size=10), st.text(CONTROL, max_size=3), DISCORD_SYNTAX), max_size=8).map(
        "".join
    ),
    LONG,
)
NOT_TEXT = st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text(max_size=3), max_size=2), st.floats())
TASK_IDS = st.one_of(
    st.uuids().map(str),
    st.text(UNICODE),
    st.text(UNICODE).map(lambda s: s + "' OR 1=1 --"),
    st.integers(),
    st.none(),
)


# ---------------------------------------------------------------------------------------------- the world


_names = itertools.count()


async def new_member(engine: Engine) -> int:
    return await member(engine, f"member-{next(_names)}", "A member", auth="hostile")


async def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await db._conn.execute_fetchall(sql)]


async def snapshot(db: Database, *, drafts: bool = True) -> Snapshot:
    """Every row of every table; without the tasks' drafts when `drafts` is false."""
    out: Snapshot = {}
    for (table,) in await _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        cols = [r[1] for r in await _rows(db, f"PRAGMA table_info({table})") if drafts or r[1] != "draft"]
        out[table] = sorted(await _rows(db, f"SELECT {', '.join(cols)} FROM {table}"), key=repr)
    return out


async def refused(
    db: Database, call: Callable[[], Awaitable[Any]], error: type[errors.DomainError], *, drafts: bool = True
) -> errors.DomainError:
    """`call` raises exactly `error` (not a subclass sibling, not a crash) and leaves every row as it was."""
    before = await snapshot(db, drafts=drafts)
    with pytest.raises(errors.DomainError) as caught:
        await call()
    assert type(caught.value) is error, f"expected {error.__name__}, got {caught.value!r}"
    assert await snapshot(db, drafts=drafts) == before
    return caught.value


async def sound(engine: Engine) -> None:
    assert await check_database(engine.db, engine.cfg) == []


# ---------------------------------------------------------------------------------------------- reply text


def storable(text: str) -> str:
    """Free text as the engine keeps it: as given, with a lone surrogate (UTF-8 cannot store one) as "?"."""
    return text.encode("utf-8", "replace").decode()


# Characters that draw nothing although they are neither whitespace nor Cc/Cf (independent of engine.policy).
BLANKS = frozenset(
    chr(c)
    for first, last in [
        (0x034F, 0x034F),
        (0x115F, 0x1160),
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),
        (0x2800, 0x2800),
        (0x3164, 0x3164),
        (0xFE00, 0xFE0F),
        (0xFFA0, 0xFFA0),
        (0xFFF0, 0xFFF8),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0000, 0xE0FFF),
    ]
    for c in range(first, last + 1)
)


def expected_text(text: object, limit: int) -> str | type[errors.DomainError]:
    """The documented rule (reference §5.1, engine.policy.clean_reply_text): surrounding whitespace is
    stripped; what remains must be non-empty, at most `limit` characters and free of NUL and lone surrogates."""
    if not isinstance(text, str):
        return errors.MessageEmpty
    stripped = text.strip()
    if not stripped:
        return errors.MessageEmpty
    if all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") or c in BLANKS for c in stripped):
        return errors.MessageEmpty  # nothing a reader would see (issue "fair task flow": invisible text)
    if len(stripped) > limit:
        return errors.MessageTooLong
    if "\x00" in stripped:
        return errors.MessageEmpty
    if any(0xD800 <= ord(c) <= 0xDFFF for c in stripped):  # UTF-8 cannot store a lone surrogate
        return errors.MessageEmpty
    return stripped


@pytest.fixture
async def reply_world(make_engine, clock, users) -> AsyncIterator[tuple[Engine, str]]:
    """A growing tree whose prompt takes (almost) any number of assistant replies."""
    engine = make_engine(goal_tree_size=10_000, max_children_count=10_000, auto_mod_enabled=False)
    root = await Driver(engine, clock, users).growing_tree(author=users[0])
    yield engine, root
    await sound(engine)  # after every example of the test


async def _text_example(engine: Engine, clock, root: str, task_type: TaskType, text: object) -> None:
    clock.advance(301)  # past the 300 s a parent stays hidden while a reply task for it is pending
    member = await new_member(engine)
    task = await engine.next_task(member, "en", task_type)
    want = expected_text(text, engine.cfg.message_size_limit)
    event("accepted" if isinstance(want, str) else f"refused: {want.__name__}")
    if isinstance(want, str):
        result = await engine.submit_reply(task.id, member, text)  # type: ignore[arg-type]
        message = await engine.message(result.message_id or "")
        assert message.text == want
        assert message.user_id == member
        assert message.parent_id == (None if task_type is TaskType.INITIAL_PROMPT else root)
        assert (await engine.get_task(task.id, member)).draft is None
        return
    # refused: every row as it was, except the draft, which keeps what was typed (decisions #17)
    exc = await refused(
        engine.db,
        lambda: engine.submit_reply(task.id, member, text),  # type: ignore[arg-type]
        want,
        drafts=False,
    )
    assert exc.text == (text if isinstance(text, str) else None)
    draft = (await engine.get_task(task.id, member)).draft
    # kept as typed, with what UTF-8 cannot store (a lone surrogate) as "?"
    assert draft == (storable(text) if isinstance(text, str) and text else None)
    assert (await engine.get_task(task.id, member)).status is TaskStatus.PENDING


@SHARED_WORLD
@given(text=TEXTS, task_type=st.sampled_from([TaskType.INITIAL_PROMPT, TaskType.ASSISTANT_REPLY]))
@example(text="", task_type=TaskType.INITIAL_PROMPT)
@example(text=" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u2029\u3000", task_type=TaskType.INITIAL_PROMPT)
@example(text="x" * 100_000, task_type=TaskType.ASSISTANT_REPLY)
@example(text="\n" * 50_000 + "y" * 2000 + " " * 50_000, task_type=TaskType.INITIAL_PROMPT)
@example(text="a\x00b", task_type=TaskType.ASSISTANT_REPLY)
@example(text="@everyone <@&123> <@123> look here", task_type=TaskType.ASSISTANT_REPLY)
async def test_reply_text_is_stored_stripped_or_refused_with_its_error(reply_world, clock, text, task_type):
    engine, root = reply_world
    await _text_example(engine, clock, root, task_type, text)


@SHARED_WORLD
@given(text=NOT_TEXT)
async def test_reply_text_that_is_not_a_string_is_refused(reply_world, clock, text):
    engine, root = reply_world
    await _text_example(engine, clock, root, TaskType.INITIAL_PROMPT, text)


@pytest.mark.parametrize(
    "text",
    ["@everyone", "@here hello", "<@&123456789012345678> ping", "<@123> hi <@!456>", "**<@123>** ```@everyone```"],
)
async def test_mentions_and_markdown_are_stored_verbatim(reply_world, clock, text):
    """Escaping is the Discord layer's job: the engine keeps exactly what was written."""
    engine, _ = reply_world
    member = await new_member(engine)
    clock.advance(301)
    task = await engine.next_task(member, "en", TaskType.ASSISTANT_REPLY)
    result = await engine.submit_reply(task.id, member, text)
    assert (await engine.message(result.message_id or "")).text == text
    conversation = (await engine.next_task(await new_member(engine), "en", TaskType.LABEL_ASSISTANT_REPLY)).conversation
    assert conversation[-1].text == text
    await sound(engine)


# ---------------------------------------------------------------------------------------------- labels


@pytest.fixture
async def label_world(make_engine, clock, users) -> AsyncIterator[tuple[Engine, str]]:
    """A prompt in review that never gets enough reviews, so every example can give one more."""
    engine = make_engine(num_reviews_initial_prompt=1_000_000)
    prompt = await Driver(engine, clock, users).write_prompt(users[0])
    yield engine, prompt
    await sound(engine)


VALID_VALUE = st.one_of(
    st.floats(0.0, 1.0), st.sampled_from([0, 1, 0.0, -0.0, 1.0, 0.25, 0.5, 0.75, 5e-324, math.nextafter(1.0, 0)])
)
OUT_OF_RANGE = st.one_of(
    st.floats(max_value=-5e-324),
    st.floats(min_value=math.nextafter(1.0, 2.0)),
    st.integers(max_value=-1),
    st.integers(min_value=2),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**400, -(10**400), 1 + 1e-15]),
)
WRONG_TYPE = st.one_of(
    st.booleans(), st.none(), st.text(max_size=5), st.lists(st.floats(0, 1), max_size=2), st.complex_numbers()
)


@st.composite
def bad_labels(draw: st.DrawFn, valid: tuple[str, ...]) -> tuple[object, str | None, type[errors.DomainError]]:
    """(labels, message id to claim or None, the error they must get): exactly one defect each."""
    base = draw(st.dictionaries(st.sampled_from(valid), VALID_VALUE, max_size=len(valid)))
    base.setdefault("spam", draw(VALID_VALUE))
    defect = draw(st.sampled_from(["unknown_name", "out_of_range", "wrong_type", "no_spam", "not_a_dict", "message"]))
    if defect == "unknown_name":
        name = draw(st.one_of(st.text(UNICODE), st.integers(), st.none()).filter(lambda n: n not in valid))
        return {**base, name: draw(VALID_VALUE)}, None, errors.LabelsInvalidLabel
    if defect in ("out_of_range", "wrong_type"):
        name = draw(st.sampled_from(valid))
        value = draw(OUT_OF_RANGE if defect == "out_of_range" else WRONG_TYPE)
        return {**base, name: value}, None, errors.LabelsInvalidValue
    if defect == "no_spam":
        return {k: v for k, v in base.items() if k != "spam"}, None, errors.LabelsMandatoryMissing
    if defect == "not_a_dict":
        not_a_dict = draw(st.one_of(st.none(), st.lists(st.text(), max_size=3), st.text(), st.integers()))
        return not_a_dict, None, errors.LabelsInvalidValue
    other = draw(st.one_of(st.uuids().map(str), st.text(UNICODE)))
    return base, other, errors.LabelsWrongMessage


async def _label_task(engine: Engine, prompt: str):
    member = await new_member(engine)
    task = await engine.next_task(member, "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt
    return member, task


@SHARED_WORLD
@given(data=st.data())
async def test_bad_labels_are_refused_with_their_error_and_change_nothing(label_world, data):
    engine, prompt = label_world
    member, task = await _label_task(engine, prompt)
    labels, message_id, error = data.draw(bad_labels(task.valid_labels))
    if message_id == prompt:
        return
    event(error.__name__)

    async def submit() -> object:
        return await engine.submit_labels(task.id, member, labels, message_id=message_id)  # type: ignore[arg-type]

    await refused(engine.db, submit, error)


@pytest.mark.parametrize("value", [10**400, -(10**400), math.inf, math.nan, True, "0.5", None])
async def test_label_values_that_are_no_number_in_range_are_refused(label_world, value):
    engine, prompt = label_world
    member, task = await _label_task(engine, prompt)

    async def submit() -> object:
        return await engine.submit_labels(task.id, member, {"spam": value})

    await refused(engine.db, submit, errors.LabelsInvalidValue)


@SHARED_WORLD
@given(data=st.data(), comment=st.one_of(TEXTS, st.none()))
async def test_valid_labels_are_stored_as_given(label_world, data, comment):
    engine, prompt = label_world
    member, task = await _label_task(engine, prompt)
    labels = data.draw(st.dictionaries(st.sampled_from(task.valid_labels), VALID_VALUE))
    labels["spam"] = data.draw(VALID_VALUE)
    before = (await engine.message(prompt)).review_count
    await engine.submit_labels(task.id, member, labels, message_id=prompt, comment=comment or "")
    rows = await _rows(engine.db, f"SELECT labels, comment FROM labels WHERE task_id = '{task.id}'")
    stored, stored_comment = json.loads(rows[0][0]), rows[0][1]
    assert stored == {k: float(v) for k, v in labels.items()}
    assert stored_comment == storable((comment or "")[:4000])
    assert (await engine.message(prompt)).review_count == before + 1


# ---------------------------------------------------------------------------------------------- rankings


@pytest.fixture
async def ranking_world(make_engine, clock, users) -> AsyncIterator[tuple[Engine, str]]:
    """A prompt with three accepted answers in ranking, which wants more rankings than examples."""
    engine = make_engine(goal_tree_size=4, min_goal_tree_size=2, num_required_rankings=1_000_000)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(author=users[0])
    for author in users[1:4]:
        child = await answer(d, author, TaskType.ASSISTANT_REPLY, root)
        await d.review(child, users[6:9])
    assert (await engine.tree_status(root)).state is TreeState.RANKING
    yield engine, root
    await sound(engine)


N_SHOWN = 3
ELEMENT = st.one_of(
    st.integers(-3, N_SHOWN + 2),
    st.integers(),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, True, False, None, "0", "1", b"\x00", [0], 10**400]),
)


def _is_permutation(ranking: object) -> bool:
    """A permutation of the shown indices; integral floats count as their integer (engine.policy.validate_ranking)."""
    if isinstance(ranking, (str, bytes)):
        return False
    try:
        values = list(ranking)  # type: ignore[call-overload]
    except TypeError:
        return False

    def index(v: object) -> bool:
        if isinstance(v, bool):
            return False
        return isinstance(v, int) or (isinstance(v, float) and math.isfinite(v) and v.is_integer())

    return all(index(v) for v in values) and sorted(int(v) for v in values) == list(range(N_SHOWN))  # type: ignore[call-overload]


NOT_PERMUTATIONS = st.one_of(
    st.lists(ELEMENT, max_size=6),
    st.lists(st.integers(0, N_SHOWN - 1), min_size=N_SHOWN, max_size=N_SHOWN),  # mostly with duplicates
    st.permutations(range(N_SHOWN + 1)).map(list),  # one too many
    st.permutations(range(N_SHOWN)).map(lambda p: list(p)[:-1]),  # one missing
    st.permutations(range(N_SHOWN)).map(lambda p: [i - 1 for i in p]),  # 0-based off by one
    st.permutations(range(N_SHOWN)).map(lambda p: [i + 1 for i in p]),  # 1-based
    st.one_of(st.integers(), st.text(max_size=4), st.floats()),  # not a list at all
).filter(lambda r: not _is_permutation(r))


@SHARED_WORLD
@given(ranking=NOT_PERMUTATIONS, not_rankable=st.booleans())
@example(ranking=[0, 1, math.inf], not_rankable=False)
@example(ranking=[], not_rankable=False)
@example(ranking=None, not_rankable=False)
@example(ranking=[0, 1, 2, 2], not_rankable=False)
@example(ranking=[-1, 0, 1], not_rankable=False)
@example(ranking=5, not_rankable=True)
@example(ranking=[0, 0, 0], not_rankable=True)
async def test_rankings_that_are_not_permutations_are_refused(ranking_world, ranking, not_rankable):
    if not_rankable and (ranking is None or (isinstance(ranking, (list, str)) and len(ranking) == 0)):
        return  # "all answers are bad" needs no order: that is a valid submission
    engine, root = ranking_world
    member = await new_member(engine)
    task = await engine.next_task(member, "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert task.target_id == root and len(task.candidates) == N_SHOWN
    await refused(
        engine.db,
        lambda: engine.submit_ranking(task.id, member, ranking, not_rankable=not_rankable),
        errors.InvalidRanking,
    )


@settings(SHARED_WORLD, max_examples=12)
@given(order=st.permutations(range(N_SHOWN)), as_tuple=st.booleans())
async def test_every_permutation_is_accepted_and_stored_best_first(ranking_world, order, as_tuple):
    engine, _ = ranking_world
    member = await new_member(engine)
    task = await engine.next_task(member, "en", TaskType.RANK_ASSISTANT_REPLIES)
    ranking = tuple(order) if as_tuple else list(order)
    await engine.submit_ranking(task.id, member, ranking)
    rows = await _rows(engine.db, f"SELECT ranked_ids FROM rankings WHERE task_id = '{task.id}'")
    assert json.loads(rows[0][0]) == [task.candidates[i].id for i in order]


# ---------------------------------------------------------------------------------------------- ids


@pytest.fixture
async def id_world(make_engine, clock, users) -> AsyncIterator[dict[str, Any]]:
    """Two members with open tasks of each kind, a moderator, and a few real message and tree ids."""
    engine = make_engine(goal_tree_size=4, min_goal_tree_size=2)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(author=users[0])
    owner, stranger = users[10], users[11]
    tasks = [
        await engine.next_task(owner, "en", TaskType.INITIAL_PROMPT),
        await engine.next_task(owner, "en", TaskType.ASSISTANT_REPLY),
    ]
    await d.write_prompt(users[1])
    tasks.append(await engine.next_task(owner, "en", TaskType.LABEL_INITIAL_PROMPT))
    yield {"engine": engine, "owner": owner, "stranger": stranger, "tasks": tasks, "root": root, "users": users}
    await sound(engine)


async def _exists(engine: Engine, table: str, key: object) -> bool:
    rows = await engine.db._conn.execute_fetchall(f"SELECT 1 FROM {table} WHERE id = ?", (str(key),))
    return bool(list(rows))


def _task_calls(engine: Engine, task_id: Any, user: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "submit_reply": lambda: engine.submit_reply(task_id, user, "an answer"),
        "submit_labels": lambda: engine.submit_labels(task_id, user, dict(GOOD)),
        "submit_ranking": lambda: engine.submit_ranking(task_id, user, [0, 1]),
        "skip_task": lambda: engine.skip_task(task_id, user),
        "get_task": lambda: engine.get_task(task_id, user),
        "open_task": lambda: engine.open_task(task_id, user),
        "ack_task": lambda: engine.ack_task(task_id, user, "card-1"),
        "save_draft": lambda: engine.save_draft(task_id, user, "a draft"),
    }


@SHARED_WORLD
@given(task_id=TASK_IDS, call=st.sampled_from(list(_task_calls(None, None, 0))))  # type: ignore[arg-type]
@example(task_id="", call="submit_reply")
@example(task_id="%", call="skip_task")
async def test_unknown_task_ids_are_not_found(id_world, task_id, call):
    engine: Engine = id_world["engine"]
    if await _exists(engine, "tasks", task_id):
        return
    await refused(engine.db, _task_calls(engine, task_id, id_world["owner"])[call], errors.TaskNotFound)


@SHARED_WORLD
@given(which=st.integers(0, 2), call=st.sampled_from(list(_task_calls(None, None, 0))))  # type: ignore[arg-type]
async def test_other_members_tasks_are_not_theirs(id_world, which, call):
    engine: Engine = id_world["engine"]
    task = id_world["tasks"][which]
    # the stranger's text is not kept as a draft on somebody else's task: every row, drafts included, as it was
    await refused(engine.db, _task_calls(engine, task.id, id_world["stranger"])[call], errors.TaskNotYours)


MESSAGE_IDS = st.one_of(st.uuids().map(str), st.text(UNICODE), st.integers(), st.none())


@SHARED_WORLD
@given(message_id=MESSAGE_IDS, call=st.sampled_from(["react", "report", "delete", "restore", "message"]))
async def test_unknown_message_ids_are_not_found(id_world, message_id, call):
    engine: Engine = id_world["engine"]
    if await _exists(engine, "messages", message_id):
        return
    member, mod = id_world["stranger"], id_world["users"][9]
    calls = {
        "react": lambda: engine.react(member, message_id, Emoji.RED_FLAG),
        "report": lambda: engine.report(member, message_id, "this is bad"),
        "delete": lambda: engine.delete_message(message_id, mod, "reason"),
        "restore": lambda: engine.restore_message(message_id, mod, "reason"),
        "message": lambda: engine.message(message_id),
    }
    await refused(engine.db, calls[call], errors.MessageNotFound)


@SHARED_WORLD
@given(tree_id=MESSAGE_IDS, call=st.sampled_from(["status", "halt", "resume"]))
async def test_unknown_tree_ids_are_not_found(id_world, tree_id, call):
    engine: Engine = id_world["engine"]
    if await _exists(engine, "trees", tree_id):
        return
    mod = id_world["users"][9]
    calls = {
        "status": lambda: engine.tree_status(tree_id),
        "halt": lambda: engine.halt_tree(tree_id, mod, "reason"),
        "resume": lambda: engine.resume_tree(tree_id, mod, "reason"),
    }
    await refused(engine.db, calls[call], errors.TreeNotFound)


@SHARED_WORLD
@given(
    user_id=st.integers(-(2**63), 2**63 - 1),
    call=st.sampled_from(["next_task", "availability", "react", "user", "language", "ban", "submit"]),
)
async def test_unknown_members_are_not_found(id_world, user_id, call):
    engine: Engine = id_world["engine"]
    if await _exists(engine, "users", user_id):
        return
    task = id_world["tasks"][0]
    calls = {
        "next_task": lambda: engine.next_task(user_id, "en"),
        "availability": lambda: engine.availability(user_id, "en"),
        "react": lambda: engine.react(user_id, id_world["root"], Emoji.THUMBS_UP),
        "user": lambda: engine.user(user_id),
        "language": lambda: engine.set_preferred_language(user_id, "de"),
        "ban": lambda: engine.ban_user(user_id, None, "reason"),
        "submit": lambda: engine.submit_reply(task.id, user_id, "an answer"),
    }
    await refused(engine.db, calls[call], errors.UserNotFound)


# ---------------------------------------------------------------------------------------------- words the member types


LANG_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{1,8})*")


@settings(max_examples=300, deadline=None)
@given(code=st.one_of(st.text(UNICODE, max_size=12), st.from_regex(r"\s*[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,2}\s*")))
@example(code="日本")
@example(code="ＥＮ")
@example(code="éé")
@example(code="en-ﬁ")
def test_language_codes_are_ascii_bcp47_or_refused(code):
    try:
        lang = normalize_lang(code)
    except errors.InvalidLanguage:
        return
    assert LANG_CODE.fullmatch(lang), f"{code!r} was accepted as {lang!r}"


@SHARED_WORLD
@given(lang=st.text(UNICODE, max_size=10), task_type=st.one_of(st.none(), st.text(UNICODE, max_size=25)))
async def test_next_task_with_any_language_and_task_type_refuses_or_hands_out(id_world, lang, task_type):
    engine: Engine = id_world["engine"]
    member = await new_member(engine)
    before = await snapshot(engine.db)
    try:
        task = await engine.next_task(member, lang, task_type)
    except (errors.InvalidLanguage, errors.UnknownTaskType, errors.NoTaskAvailable) as exc:
        assert await snapshot(engine.db) == before, exc
    else:
        assert task.lang == normalize_lang(lang)
        await engine.skip_task(task.id, member)


@SHARED_WORLD
@given(emoji=st.one_of(st.text(UNICODE, max_size=12), st.sampled_from(list(Emoji))), op=st.text(max_size=8))
async def test_reactions_outside_the_vocabulary_are_refused(id_world, emoji, op):
    engine: Engine = id_world["engine"]
    if emoji in {e.value for e in Emoji} and op in {o.value for o in EmojiOp}:
        return
    member, root = id_world["stranger"], id_world["root"]
    await refused(engine.db, lambda: engine.react(member, root, emoji, op), errors.InvalidEmoji)


@SHARED_WORLD
@given(text=TEXTS, ref=st.text(UNICODE, max_size=40))
async def test_drafts_references_and_report_comments_take_any_text(id_world, text, ref):
    """Free text the engine keeps without judging it: stored as given (report comments cut at 4000), a lone
    surrogate as "?"."""
    engine: Engine = id_world["engine"]
    owner = id_world["owner"]
    task = id_world["tasks"][0]
    await engine.save_draft(task.id, owner, text)
    assert (await engine.get_task(task.id, owner)).draft == storable(text)
    await engine.ack_task(task.id, owner, ref)
    assert (await engine.get_task(task.id, owner)).frontend_ref == ref
    reporter = await new_member(engine)
    await engine.report(reporter, id_world["root"], text)
    rows = await _rows(
        engine.db, f"SELECT comment FROM labels WHERE user_id = {reporter} AND is_report = 1 AND task_id IS NULL"
    )
    assert rows == [(storable(text[:4000]),)]

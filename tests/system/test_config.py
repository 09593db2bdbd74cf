"""Every invalid config.toml is refused at start-up with the key and the reason, on one line, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, get_origin

import pytest
from pydantic import AnyUrl, BaseModel

from bot.config import SNOWFLAKE_MAX, ConfigError, GroveConfig, SchedulerSettings, load_config
from engine.config import TaskWeights

ROOT = Path(__file__).resolve().parents[2]
# Every table of the file with its model: the sections, and the one nested table.
TABLES: dict[str, type[BaseModel]] = {
    **{name: info.annotation for name, info in GroveConfig.model_fields.items()},  # type: ignore[misc]
    "engine.weights": TaskWeights,
}
INTERVALS = [name for name in SchedulerSettings.model_fields if name != "misfire_grace_seconds"]


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    """The ConfigError's message, checked to be one line with no traceback or chained exception."""
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    message = str(error)
    assert "\n" not in message and "Traceback" not in message, message
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert message.startswith(f"{path}: "), message
    return message


def refused(tmp_path: Path, text: str | bytes, key: str, reason: str) -> str:
    message = refusal(write(tmp_path, text))
    assert f"{key}: " in message and reason in message, message
    assert message.index(reason) > message.index(f"{key}: "), message
    return message


def setting(table: str, key: str, value: str) -> str:
    return f"[{table}]\n{key} = {value}\n"


# ---------------------------------------------------------------------- wrong types, for every setting


def wrong_values(annotation: Any) -> list[str]:
    """TOML values of the wrong type for a setting of this type."""
    if annotation is bool:
        return ['"yes"', "1"]
    if annotation is int:
        return ['"3"', "2.5", "true"]
    if annotation is float:
        return ['"5"', "true", "[1]"]
    if annotation is str:
        return ["5", '["INFO"]']
    if annotation in (Path, AnyUrl):
        return ["5", "true"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ["5", '"x"']
    if get_origin(annotation) is tuple:
        return ['"x"', "5"]
    return ['"abc"', "1.5", "true", "[1]"]  # a Discord id, or none


WRONG_TYPES = [
    pytest.param(table, key, value, id=f"{table}.{key}={value}")
    for table, model in TABLES.items()
    for key, info in model.model_fields.items()
    for value in wrong_values(info.annotation)
]


def test_the_wrong_type_table_covers_every_setting() -> None:
    covered = {(table, key) for table, key, _ in (p.values for p in WRONG_TYPES)}
    assert covered == {(t, k) for t, model in TABLES.items() for k in model.model_fields}
    assert len(covered) > 60


@pytest.mark.parametrize(("table", "key", "value"), WRONG_TYPES)
def test_a_value_of_the_wrong_type_is_refused(tmp_path: Path, table: str, key: str, value: str) -> None:
    refused(tmp_path, setting(table, key, value), f"{table}.{key}", "must be")


# ---------------------------------------------------------------------- unknown keys and sections


@pytest.mark.parametrize("table", list(TABLES))
def test_an_unknown_key_is_refused_in_every_section(tmp_path: Path, table: str) -> None:
    refused(tmp_path, setting(table, "not_a_setting", "1"), f"{table}.not_a_setting", "unknown key")


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        pytest.param("not_a_setting = 1\n", "not_a_setting", "unknown key", id="top-level key"),
        pytest.param("[not_a_section]\nx = 1\n", "not_a_section", "unknown section", id="section"),
        pytest.param("[scheduler]\ntaskexpiry = 5\n", "scheduler.taskexpiry", "unknown key", id="typo"),
        pytest.param("[discord]\nfeed_channel_id = 1\n", "discord.feed_channel_id", "unknown key", id="channel"),
        pytest.param("[engine.weight]\nranking = 1\n", "engine.weight", "unknown key", id="misspelt table"),
        pytest.param("discord = 5\n", "discord", "must be a table", id="section as value"),
        pytest.param("[[scheduler]]\ntask_expiry = 5\n", "scheduler", "must be a table", id="array of tables"),
    ],
)
def test_unknown_keys_and_misplaced_sections_are_refused(tmp_path: Path, text: str, key: str, reason: str) -> None:
    refused(tmp_path, text, key, reason)


# ---------------------------------------------------------------------- intervals


@pytest.mark.parametrize("job", INTERVALS)
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-5", "must be greater than 0 (got -5)"),
        ("0", "must be greater than 0 (got 0)"),
        ("-0.5", "must be greater than 0"),
        ("10081", "must be less than or equal to 10080"),
    ],
)
def test_every_job_refuses_a_zero_negative_or_huge_interval(tmp_path: Path, job: str, value: str, reason: str) -> None:
    refused(tmp_path, setting("scheduler", job, value), f"scheduler.{job}", reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("-1", "greater than or equal to 1"), ("0", "greater than or equal to 1"), ("1.5", "must be a whole number")],
)
def test_the_misfire_grace_must_be_a_positive_whole_number(tmp_path: Path, value: str, reason: str) -> None:
    refused(tmp_path, setting("scheduler", "misfire_grace_seconds", value), "scheduler.misfire_grace_seconds", reason)


def test_fractional_and_whole_minutes_are_both_intervals(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[scheduler]\ntask_expiry = 2.5\nleaderboard_day = 10\n"))
    assert (config.scheduler.task_expiry, config.scheduler.leaderboard_day) == (2.5, 10)


# ---------------------------------------------------------------------- Discord ids and URLs

ID_REASON = "must be a Discord id"


@pytest.mark.parametrize(
    "value", ["0", "-1", str(SNOWFLAKE_MAX + 1), '"abc"', '"12a"', '" 123"', '"-5"', '""', "true", "1.5e17"]
)
def test_a_bad_dev_guild_id_is_refused(tmp_path: Path, value: str) -> None:
    refused(tmp_path, setting("discord", "dev_guild_id", value), "discord.dev_guild_id", ID_REASON)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("[0]", "discord.owner_ids[0]"),
        ("[1, -2]", "discord.owner_ids[1]"),
        ('[1, 2, "x"]', "discord.owner_ids[2]"),
        (f"[{SNOWFLAKE_MAX + 1}]", "discord.owner_ids[0]"),
        ("[false]", "discord.owner_ids[0]"),
    ],
)
def test_a_bad_owner_id_is_refused_with_its_position(tmp_path: Path, value: str, key: str) -> None:
    refused(tmp_path, setting("discord", "owner_ids", value), key, ID_REASON)


def test_discord_ids_may_be_numbers_or_digit_strings(tmp_path: Path) -> None:
    text = f'[discord]\ndev_guild_id = "123456789012345678"\nowner_ids = [1, "22", {SNOWFLAKE_MAX}]\n'
    config = load_config(write(tmp_path, text))
    assert config.discord.dev_guild_id == 123456789012345678
    assert config.discord.owner_ids == (1, 22, SNOWFLAKE_MAX)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("api_base_url", '"ftp://example.com/api"', "must be an http(s) URL"),
        ("api_base_url", '"wss://gateway.discord.gg/"', "must be an http(s) URL"),
        ("api_base_url", '"not a url"', "must be a valid URL"),
        ("api_base_url", '""', "must be a valid URL"),
        ("gateway_url", '"https://gateway.discord.gg/"', "must be a ws(s) URL"),
        ("gateway_url", '"gateway"', "must be a valid URL"),
    ],
)
def test_a_bad_url_is_refused(tmp_path: Path, key: str, value: str, reason: str) -> None:
    refused(tmp_path, setting("discord", key, value), f"discord.{key}", reason)


# ---------------------------------------------------------------------- other sections


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        pytest.param(setting("logging", "level", '"LOUD"'), "logging.level", "must be one of", id="level"),
        pytest.param(setting("logging", "level", '""'), "logging.level", "must be one of", id="empty level"),
        pytest.param(setting("database", "path", '""'), "database.path", "must name a file", id="empty path"),
        pytest.param(setting("tasks", "continuous", '"true"'), "tasks.continuous", "must be true or false", id="bool"),
        pytest.param(setting("logging", "level", "1979-05-27"), "logging.level", "a date or time", id="date"),
        pytest.param(setting("scheduler", "task_expiry", "inf"), "scheduler.task_expiry", "finite", id="inf"),
        pytest.param(
            setting("community", "terms_url", '"example.com/terms"'), "community.terms_url", "http(s) URL", id="terms"
        ),
        pytest.param(
            setting("community", "dataset_license", '""'), "community.dataset_license", "at least 1", id="licence"
        ),
    ],
)
def test_other_bad_values_are_refused(tmp_path: Path, text: str, key: str, reason: str) -> None:
    refused(tmp_path, text, key, reason)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("goal_tree_size = 1", "engine.goal_tree_size", "greater than or equal to 2"),
        ("max_tree_depth = 0", "engine.max_tree_depth", "greater than or equal to 1"),
        ("max_active_trees = -1", "engine.max_active_trees", "greater than or equal to 0"),
        ("p_full_labeling_review_prompt = 1.5", "engine.p_full_labeling_review_prompt", "less than or equal to 1"),
        ("acceptance_threshold_reply = -0.1", "engine.acceptance_threshold_reply", "greater than or equal to 0"),
        ("task_validity_minutes = -1", "engine.task_validity_minutes", "greater than or equal to 0"),
        ("message_size_limit = 0", "engine.message_size_limit", "greater than or equal to 1"),
        ("min_goal_tree_size = 13", "engine.min_goal_tree_size", "must not exceed goal_tree_size"),
        ('mandatory_labels_initial_prompt = ["bogus"]', "engine.mandatory_labels_initial_prompt", "bogus"),
        ('labels_initial_prompt = ["spam", 1]', "engine.labels_initial_prompt[1]", "must be a string"),
        ("weights = { ranking = -1.0 }", "engine.weights.ranking", "greater than or equal to 0"),
        ("weights = { prompt = nan }", "engine.weights.prompt", "finite"),
        ("weights = { rankings = 1.0 }", "engine.weights.rankings", "unknown key"),
    ],
)
def test_bad_engine_settings_are_refused(tmp_path: Path, text: str, key: str, reason: str) -> None:
    refused(tmp_path, f"[engine]\n{text}\n", key, reason)


def test_every_problem_is_reported_at_once_on_one_line(tmp_path: Path) -> None:
    text = (
        "[discord]\ndev_guild_id = 0\nfeed = 1\n[scheduler]\ntask_expiry = -5\nstreak_reset = inf\n"
        '[logging]\nlevel = "LOUD"\n[engine]\ngoal_tree_size = "12"\n'
    )
    message = refusal(write(tmp_path, text))
    for key in (
        "discord.dev_guild_id",
        "discord.feed",
        "scheduler.task_expiry",
        "scheduler.streak_reset",
        "logging.level",
        "engine.goal_tree_size",
    ):
        assert f"{key}: " in message, key
    assert message.count("; ") == 5


# ---------------------------------------------------------------------- the file itself


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param("[discord\n", "line 1", id="unclosed table"),
        pytest.param("[logging]\nlevel = \n", "line 2", id="missing value"),
        pytest.param('[logging]\nlevel = "INFO\n', "line 2", id="unterminated string"),
        pytest.param("[scheduler]\ntask_expiry = 5\ntask_expiry = 6\n", "line 3", id="duplicate key"),
        pytest.param("[scheduler]\n[scheduler]\n", "line 2", id="duplicate table"),
        pytest.param("task_expiry: 5\n", "line 1", id="not toml at all"),
    ],
)
def test_a_toml_syntax_error_is_refused_with_its_position(tmp_path: Path, text: str, where: str) -> None:
    message = refusal(write(tmp_path, text))
    assert "not valid TOML" in message and where in message, message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert "no such file" in refusal(tmp_path / "nowhere.toml")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "cannot be read" in refusal(tmp_path)


@pytest.mark.parametrize(
    "data", [b'[logging]\nlevel = "\xff\xfe"\n', "[logging]\nlevel = 'Gr\u00fc\u00dfe'\n".encode("latin-1")]
)
def test_bytes_that_are_not_utf8_are_refused(tmp_path: Path, data: bytes) -> None:
    assert "not UTF-8 text" in refusal(write(tmp_path, data))


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing set yet\n", "[discord]\n[scheduler]\n"])
def test_an_empty_file_gives_the_defaults(tmp_path: Path, text: str) -> None:
    config = load_config(write(tmp_path, text))
    assert config.database.path == tmp_path.resolve() / "grove.db"  # relative to the file, like any path in it
    assert config.model_copy(update={"database": GroveConfig().database}) == GroveConfig()


def test_the_example_file_passes_the_strict_checks() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.model_copy(update={"database": GroveConfig().database}) == GroveConfig()


def test_lower_case_levels_and_whole_numbers_for_fractions_are_fine(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[logging]\nlevel = "debug"\n[engine]\np_activate_backlog_tree = 1\n'))
    assert config.logging.level == "DEBUG" and config.engine.p_activate_backlog_tree == 1.0


# ---------------------------------------------------------------------- end to end: `grove run`


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"[scheduler]\ntask_expiry = -5\n", "scheduler.task_expiry: must be greater than 0 (got -5)"),
        (b'[discord]\nowner_ids = ["me"]\n', "discord.owner_ids[0]: must be a Discord id"),
        (b"[discord]\nfeed_channel = 1\n", "discord.feed_channel: unknown key"),
    ],
    ids=["negative interval", "bad owner id", "unknown key"],
)
def test_grove_run_refuses_a_bad_config_in_one_line(tmp_path: Path, data: bytes, expected: str) -> None:
    path = write(tmp_path, data)
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env |= {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "fake-token"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("grove: invalid configuration: ") and expected in lines[0]
    assert not (tmp_path / "grove.db").exists()  # refused before anything was opened

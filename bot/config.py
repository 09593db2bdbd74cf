"""`config.toml`: the bot's settings, validated by pydantic. A bad value is reported with its key.

The file is validated strictly: TOML has real types, so a quoted number, a 1 for true or a float
where a whole number belongs is a mistake to report, not to guess around. Discord ids alone may also
be written as digit strings, the way Discord's client copies them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, PlainValidator, ValidationError, field_validator

from engine.config import EngineConfig

TOKEN_ENV = "DISCORD_TOKEN"
Minutes = Annotated[float, Field(gt=0, le=7 * 24 * 60)]
SNOWFLAKE_MAX = (1 << 64) - 1


def _snowflake(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= SNOWFLAKE_MAX:
        raise ValueError(f"must be a Discord id: a whole number from 1 to {SNOWFLAKE_MAX}")
    return value


Snowflake = Annotated[int, PlainValidator(_snowflake)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiscordSettings(_Section):
    api_base_url: AnyUrl = AnyUrl("https://discord.com/api/v10")
    gateway_url: AnyUrl = AnyUrl("wss://gateway.discord.gg/")
    dev_guild_id: Snowflake | None = None  # sync commands to this guild at start-up (instant; for development)
    owner_ids: tuple[Snowflake, ...] = ()  # may run every command everywhere, like a server admin
    # When not empty, Grove works only in these servers; elsewhere every command gets one sentence saying so.
    allowed_guild_ids: tuple[Snowflake, ...] = ()
    # Admission (issue 18): at most this many interactions at work at once; more are told "busy" at once ...
    max_in_flight: int = Field(default=128, ge=1, le=10_000)
    # ... and a member may send this many interactions per window (seconds; 0: no cooldown) before "slow down"
    member_interactions_per_window: int = Field(default=20, ge=1, le=10_000)
    member_window_seconds: float = Field(default=10.0, ge=0, le=3600)
    # ... and each of the heavy commands (/stats and /status draw charts, /config export writes a file) this many
    # times a minute per member
    heavy_commands_per_minute: int = Field(default=3, ge=1, le=10_000)

    @field_validator("api_base_url")
    @classmethod
    def _http(cls, v: AnyUrl) -> AnyUrl:
        if v.scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("gateway_url")
    @classmethod
    def _ws(cls, v: AnyUrl) -> AnyUrl:
        if v.scheme not in ("ws", "wss"):
            raise ValueError("must be a ws(s) URL")
        return v


class DatabaseSettings(_Section):
    path: Path = Path("grove.db")
    # "full": an acknowledged contribution is on disk before the member is told (survives a power cut);
    # "normal": it survives a crash of the process only, and each commit skips a disk sync.
    synchronous: Literal["full", "normal"] = "full"
    # PostgreSQL instead of the SQLite file, for several bot processes on one dataset (`grove run --shard-ids`);
    # needs the [postgresql] extra. None: the SQLite file at `path`.
    url: str | None = None

    @field_validator("path")
    @classmethod
    def _file(cls, v: Path) -> Path:
        if str(v) in ("", "."):
            raise ValueError("must name a file")
        return v

    @field_validator("url")
    @classmethod
    def _postgres(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL (postgresql://user@host/database); leave it out for SQLite")
        return v

    @property
    def target(self) -> str:
        """What `storage.store.open_store` opens: the PostgreSQL URL when set, else the SQLite file."""
        return self.url if self.url is not None else str(self.path)


class SchedulerSettings(_Section):
    """Minutes between runs of each scheduled job."""

    prompt_lottery: Minutes = 1
    auto_moderation: Minutes = 5
    task_expiry: Minutes = 5
    scoring_retry: Minutes = 15
    backlog_activation: Minutes = 15
    halt_banned_prompts: Minutes = 60
    reconcile: Minutes = 15
    streak_reset: Minutes = 240
    leaderboard_day: Minutes = 5
    leaderboard_week: Minutes = 15
    leaderboard_month: Minutes = 60
    leaderboard_total: Minutes = 240
    notifications: Minutes = 1  # send the notification DMs that are due
    notification_interval_minutes: Minutes = 60  # at most one notification DM per member this often
    misfire_grace_seconds: Annotated[int, Field(ge=1)] = 3600  # a late run still happens within this window


class TaskSettings(_Section):
    continuous: bool = True  # after a submit or skip the card turns into the next task of the same kind


class CommunitySettings(_Section):
    """What the consent card tells members about the dataset their contributions go into (issue 15)."""

    dataset_license: str = Field(default="Apache-2.0", min_length=1, max_length=100)  # oasst1's licence
    terms_url: str = ""  # a page with the full terms ("": the card shows no link)

    @field_validator("terms_url")
    @classmethod
    def _terms(cls, v: str) -> str:
        if v and not (v.startswith(("https://", "http://")) and len(v) <= 512 and " " not in v):
            raise ValueError("must be an http(s) URL (at most 512 characters), or empty for no link")
        return v


class LoggingSettings(_Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return v.upper()


class GroveConfig(_Section):
    discord: DiscordSettings = DiscordSettings()
    database: DatabaseSettings = DatabaseSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    tasks: TaskSettings = TaskSettings()
    community: CommunitySettings = CommunitySettings()
    logging: LoggingSettings = LoggingSettings()
    engine: EngineConfig = EngineConfig()


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the key and the reason."""


def load_config(path: Path | None) -> GroveConfig:
    """Read and validate a config file; None (or a missing default file) gives the defaults."""
    if path is None:
        return GroveConfig()
    try:
        with Path(path).open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    problems = _drop_unrepresentable(data, ())
    try:
        # JSON mode: strict types, yet TOML arrays may fill tuples and strings paths and URLs.
        config = GroveConfig.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        problems += [_describe(e) for e in exc.errors()]
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    if not Path(config.database.path).is_absolute():
        database = config.database.model_copy(update={"path": Path(path).resolve().parent / config.database.path})
        config = config.model_copy(update={"database": database})
    return config


def _drop_unrepresentable(table: dict[str, Any], loc: tuple[str | int, ...]) -> list[str]:
    """Remove (and describe) the values no setting can take: dates and times, infinities and NaN."""
    problems = []
    for key, value in list(table.items()):
        if isinstance(value, dict):
            problems += _drop_unrepresentable(value, (*loc, key))
        elif found := _unrepresentable(value, (*loc, key)):
            problems += found
            del table[key]
    return problems


def _unrepresentable(value: object, loc: tuple[str | int, ...]) -> list[str]:
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unrepresentable(item, (*loc, i))]
    if isinstance(value, dict):
        return [p for k, item in value.items() for p in _unrepresentable(item, (*loc, k))]
    if isinstance(value, dt.date | dt.time):  # a datetime is a date
        return [f"{_key(loc)}: a date or time is not a valid value here (got {value})"]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{_key(loc)}: must be a finite number (got {value})"]
    return []


TOML_TYPES = {
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "tuple_type": "must be an array",
    "list_type": "must be an array",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "model_attributes_type": "must be a table",
    "url_type": "must be a URL string",
    "path_type": "must be a string",
}


def _key(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: Any) -> str:
    key = _key(tuple(error["loc"]))
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return f"{key}: unknown {'section' if len(error['loc']) == 1 and isinstance(given, dict) else 'key'}"
    if kind == "missing":
        return f"{key}: required"
    reason = TOML_TYPES.get(kind) or error["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if kind == "value_error" and (field := _leading_field(tuple(error["loc"]), reason)):
        # a check across a section's fields ("min_goal_tree_size must not exceed …"): name the field as the key
        key, reason = f"{key}.{field}", reason.removeprefix(field).lstrip()
    if not isinstance(given, dict | list):  # a table or an array speaks for itself in the file
        reason += f" (got {_shown(given)})"
    return f"{key}: {reason}"


def _leading_field(loc: tuple[str | int, ...], reason: str) -> str | None:
    """The field of the section at `loc` that `reason` starts with, if any."""
    model: type[BaseModel] = GroveConfig
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is None or not (isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)):
            return None
        model = info.annotation
    word = reason.split(" ", 1)[0]
    return word if word in model.model_fields else None


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

"""`config.toml`: the bot's settings, validated by pydantic. A bad value is reported with its key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.config import EngineConfig

TOKEN_ENV = "DISCORD_TOKEN"
Snowflake = Annotated[int, Field(gt=0, lt=1 << 64)]
Minutes = Annotated[float, Field(gt=0, le=7 * 24 * 60)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiscordSettings(_Section):
    api_base_url: AnyUrl = AnyUrl("https://discord.com/api/v10")
    gateway_url: AnyUrl = AnyUrl("wss://gateway.discord.gg/")
    dev_guild_id: Snowflake | None = None  # sync commands to this guild at start-up (instant; for development)
    owner_ids: tuple[Snowflake, ...] = ()  # may run every command everywhere, like a server admin

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


class SchedulerSettings(_Section):
    """Minutes between runs of each scheduled job."""

    prompt_lottery: Minutes = 1
    auto_moderation: Minutes = 5
    task_expiry: Minutes = 5
    scoring_retry: Minutes = 15
    backlog_activation: Minutes = 15
    halt_banned_prompts: Minutes = 60
    streak_reset: Minutes = 240
    leaderboard_day: Minutes = 5
    leaderboard_week: Minutes = 15
    leaderboard_month: Minutes = 60
    leaderboard_total: Minutes = 240
    misfire_grace_seconds: Annotated[int, Field(ge=1)] = 3600  # a late run still happens within this window


class TaskSettings(_Section):
    continuous: bool = True  # after a submit or skip the card turns into the next task of the same kind


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
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = GroveConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e) for e in exc.errors())) from None
    if not Path(config.database.path).is_absolute():
        config = config.model_copy(
            update={"database": DatabaseSettings(path=Path(path).resolve().parent / config.database.path)}
        )
    return config


def _describe(error: dict) -> str:
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: required"
    return f"{key}: {error['msg'].removeprefix('Value error, ')}"

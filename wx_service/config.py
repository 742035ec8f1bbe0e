"""Configuration: one TOML file named by ``WX_SERVICE_CONFIG``, checked before anything starts.

Each section of the file is a frozen dataclass below; its fields are the keys the service reads, with
their types and defaults, and the schema is read from them: an unknown key, a missing required key
(a field without a default), a value of the wrong type or outside a ``Literal`` stops start-up with a
message that names the key.  The result is one ``Settings`` object, built once by ``create_app``, read
as ``settings.<section>.<key>``.  With no file at all the embedded development default is used:
SQLite under ``var/``, jobs in the web process, and one demo account pointed at the sandbox.

To add a key: a field (type, default, a comment saying what it does) on its section's class here, the
same key documented in ``config.example.toml``; code reads it as ``settings().section.key`` (faces),
``jobs.settings().section.key`` (jobs), ``incoming.settings.section.key`` (handlers), and hands the
value to the models as an argument.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app

from models.records.stars import thresholds_from

DEFAULT_SECRET_KEY = "development-secret-key-change-me"
WECHAT_API_BASE = "https://api.weixin.qq.com/"
WECHAT_OAUTH_BASE = "https://open.weixin.qq.com/"

# The callback's timestamp freshness window when a production file does not set [app] max_clock_skew.
PRODUCTION_CLOCK_SKEW = 300


def _table(default: Mapping | None = None):
    """A field holding a TOML table: read-only (a ``MappingProxyType``) like the rest of the settings."""
    return field(default_factory=lambda: types.MappingProxyType(dict(default or {})))


@dataclass(frozen=True)
class AppSettings:
    secret_key: str = DEFAULT_SECRET_KEY
    base_url: str = "http://127.0.0.1:5000"
    env: Literal["development", "production"] = "development"
    timezone: str = "Asia/Shanghai"
    max_clock_skew: int = 0  # seconds; 0: no window; a production file without the key gets PRODUCTION_CLOCK_SKEW
    log_level: str = "INFO"
    media_dir: str = "var/media"  # made absolute when loaded
    weui: Literal["local", "cdn"] = "local"
    jssdk_url: str = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
    proxy_hops: int = 0
    volunteer_number_prefix: str = "3206"

    @property
    def tz(self) -> ZoneInfo:
        """The zone of the rules as a ``ZoneInfo`` (models take the name, ``timezone``)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    echo: bool = False


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    queue: str = "wx_service"


@dataclass(frozen=True)
class SecuritySettings:
    data_key: str = ""


@dataclass(frozen=True)
class SmsSettings:
    sender: Literal["log", "http"] = "log"
    endpoint: str = ""
    api_key: str = ""
    daily_limit: int = 5


@dataclass(frozen=True)
class NotificationSettings:
    rate_per_second: int = 20
    max_attempts: int = 6
    retry_base_seconds: int = 30
    lease_seconds: int = 60
    send_threads: int = 8


@dataclass(frozen=True)
class SandboxSettings:
    enabled: bool = False


@dataclass(frozen=True)
class AttendanceSettings:
    rounding: Literal["ceil_half_hour", "floor_half_hour", "nearest_quarter", "exact"] = "ceil_half_hour"
    points_per_hour: int | float = 1
    offline_grace_minutes: int = 30  # how old an offline punch may be when it arrives (integrity)
    points_expire_years: int = 0  # 礼遇坊 points lapse N years after the year they were earned; 0: never


@dataclass(frozen=True)
class ProjectSettings:
    topic_orgs: Mapping[str, tuple[str, ...]] = _table()  # a TOML list of organization names per topic
    ask_back_hours: int = 24  # 确认参加 / 不能参加 asked this long before a day of a project opens; 0: off
    message_every_minutes: int = 60  # a project admin's one message to everyone accepted: once per window


@dataclass(frozen=True)
class MediaSettings:
    """Where media files live (``jobs/storage.py``): a directory, or a private S3-compatible bucket."""

    backend: Literal["local", "s3"] = "local"
    dir: str = ""  # local: the directory (empty: [app] media_dir)
    endpoint_url: str = ""  # s3: empty for AWS itself
    bucket: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    prefix: str = ""
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    signed_url_seconds: int = 0  # > 0: pages redirect to a URL signed this long; 0: they pass the bytes on


@dataclass(frozen=True)
class MetricsSettings:
    """Who may read ``GET /metrics``: a bearer token, or a client address in one of these networks."""

    token: str = ""
    allow: tuple[str, ...] = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class RecordSettings:
    star_hours: tuple[int | float, ...] = (100, 300, 600, 1000, 1500)  # confirmed hours of 一星 … 五星, rising
    period_issuer: Literal["recording_org", "level1"] = "recording_org"  # who issues a period certificate
    cjk_font: str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # Debian's fonts-noto-cjk
    cjk_font_index: int = 2  # the face in the collection: 2 = Simplified Chinese
    verify_per_minute: int = 20  # public verification lookups per client address and minute
    export_max_level: int = 1  # admins of orgs at this level or above export to the national standard
    id_number_max_level: int = 1  # … with whole ID numbers (masked otherwise)


@dataclass(frozen=True)
class StatsSettings:
    # 时长达标: counted hours a member needs in a month; after a change, `flask stats rebuild` recounts the roll-ups
    monthly_target_hours: int | float = 2


@dataclass(frozen=True)
class Account:
    """One official account (公众号): its credentials, API endpoints and template ids."""

    name: str = field(metadata={"in_file": False})  # the NAME of [accounts.NAME]
    app_id: str
    app_secret: str
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = WECHAT_API_BASE
    oauth_base: str = WECHAT_OAUTH_BASE
    main: bool = False
    title: str = ""
    templates: Mapping[str, str] = _table()

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)


# section name -> its class: the order of the sections of ``Settings``.
SECTIONS: dict[str, type] = {
    "app": AppSettings, "database": DatabaseSettings, "redis": RedisSettings, "security": SecuritySettings,
    "sms": SmsSettings, "notifications": NotificationSettings, "sandbox": SandboxSettings,
    "attendance": AttendanceSettings, "projects": ProjectSettings,
    "media": MediaSettings, "metrics": MetricsSettings, "records": RecordSettings, "stats": StatsSettings,
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class Settings:
    """The whole configuration, typed and read-only: ``settings.app.timezone``, ``settings.sms.daily_limit``."""

    app: AppSettings
    database: DatabaseSettings
    redis: RedisSettings
    security: SecuritySettings
    sms: SmsSettings
    notifications: NotificationSettings
    sandbox: SandboxSettings
    attendance: AttendanceSettings
    projects: ProjectSettings
    media: MediaSettings
    metrics: MetricsSettings
    records: RecordSettings
    stats: StatsSettings
    accounts: Mapping[str, Account]
    source: str

    @property
    def main_account(self) -> Account:
        return next(a for a in self.accounts.values() if a.main)

    @property
    def production(self) -> bool:
        return self.app.env == "production"

    def replace(self, section: str, **values) -> Settings:
        """A copy with some keys of one section (``"app"``, or ``"accounts.NAME"``) changed, each value
        checked as the file's would be (tests)."""
        if section.startswith("accounts."):
            name = section.removeprefix("accounts.")
            account = _changed(section, self.accounts[name], values)
            return dataclasses.replace(self, accounts=types.MappingProxyType({**self.accounts, name: account}))
        return dataclasses.replace(self, **{section: _changed(section, getattr(self, section), values)})


def settings(app: Flask | None = None) -> Settings:
    """The settings of ``app`` (default: the current app): the one way code reads configuration."""
    return (app or current_app).config["WX_SETTINGS"]


def development_default(base_dir: Path | None = None) -> dict:
    """The embedded default: SQLite, in-process jobs, the sandbox demo account."""
    var = (base_dir or Path.cwd()) / "var"
    base_url = os.environ.get("WX_SERVICE_BASE_URL", "http://127.0.0.1:5000")
    return {
        # jssdk_url: the sandbox's stand-in for jweixin, which only works inside WeChat itself
        "app": {"env": "development", "base_url": base_url, "media_dir": str(var / "media"),
                "jssdk_url": "/sandbox/static/jweixin.js"},
        "database": {"url": f"sqlite:///{var / 'wx_service.sqlite3'}"},
        "redis": {"url": ""},
        "sandbox": {"enabled": True},
        "accounts": {
            "demo": {
                "app_id": "wxdemo0000000001",
                "app_secret": "demo-secret-0000000000000000001",
                "token": "demotoken",
                "encoding_aes_key": "",
                "api_base": base_url.rstrip("/") + "/sandbox/",
                "oauth_base": base_url.rstrip("/") + "/sandbox/",
                "main": True,
                "title": "江海志愿(演示)",
                "templates": {},
            }
        },
    }


def load(source: dict | str | os.PathLike | None = None) -> Settings:
    """Read, check and complete the configuration.

    ``source`` may be a dict (tests), a path, or None: then ``$WX_SERVICE_CONFIG`` or, failing
    that, the embedded development default.
    """
    if source is None:
        path = os.environ.get("WX_SERVICE_CONFIG")
        source = path if path else development_default()
        origin = path or "embedded development default"
    elif isinstance(source, dict):
        origin = "dict"
    else:
        origin = str(source)
    if not isinstance(source, dict):
        try:
            with open(source, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file not found: {source}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {source} is not valid TOML: {exc}") from exc
    else:
        raw = source
    return _check(raw, origin)


def file_keys(cls: type) -> dict[str, dataclasses.Field]:
    """The keys a section's table may hold: its class's fields, but those the file does not set."""
    return {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("in_file", True)}


def _typed(where: str, value, expected):
    """``value`` checked against the type hint ``expected``; tables come back read-only."""
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, args))}")
        return value
    if origin in (types.UnionType, typing.Union):
        if isinstance(value, bool) or not isinstance(value, args):
            raise ConfigError(f"{where} must be a number")
        return value
    if origin is Mapping or expected is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table")
        item = args[1] if args else object
        return types.MappingProxyType({k: _typed(f"{where}.{k}", v, item) for k, v in value.items()})
    if origin is tuple:  # ``tuple[X, ...]``: a TOML list, kept read-only
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list")
        return tuple(_typed(f"{where}[{i}]", v, args[0]) for i, v in enumerate(value))
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false")
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where} must be an integer")
    if expected is str and not isinstance(value, str):
        raise ConfigError(f"{where} must be a string")
    return value


def _build(cls: type, where: str, raw, **given):
    """One section's object from its table: every key known, typed, required ones present."""
    if not isinstance(raw, dict):
        raise ConfigError(f"[{where}] must be a table")
    keys = file_keys(cls)
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"unknown configuration key {where}.{unknown[0]}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, spec in keys.items():
        if name in raw:
            values[name] = _typed(f"{where}.{name}", raw[name], hints[name])
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required configuration key {where}.{name}")
    return _completed(where, cls(**given, **values))


def _changed(where: str, current, values: dict):
    hints, keys = typing.get_type_hints(type(current)), file_keys(type(current))
    for name in values:
        if name not in keys:
            raise ConfigError(f"unknown configuration key {where}.{name}")
    typed = {name: _typed(f"{where}.{name}", value, hints[name]) for name, value in values.items()}
    return _completed(where, dataclasses.replace(current, **typed))


# (key, lowest, highest) of the numbers a section's type cannot bound by itself
_RANGES = {
    AttendanceSettings: (("offline_grace_minutes", 0, 24 * 60), ("points_expire_years", 0, 100)),
    ProjectSettings: (("ask_back_hours", 0, 7 * 24), ("message_every_minutes", 1, 7 * 24 * 60)),
    StatsSettings: (("monthly_target_hours", 0.5, 24 * 31),),
}


def _completed(where: str, section):
    """The checks of one section that its types cannot say, and the values it completes."""
    if isinstance(section, AppSettings):
        if section.max_clock_skew < 0:
            raise ConfigError("app.max_clock_skew must be 0 (no window) or a number of seconds")
        try:
            ZoneInfo(section.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"app.timezone {section.timezone!r} is not a known time zone") from exc
        return dataclasses.replace(section, media_dir=os.path.abspath(section.media_dir))
    for key, low, high in _RANGES.get(type(section), ()):
        value = getattr(section, key)
        if not low <= value <= high:
            raise ConfigError(f"{where}.{key} must be between {low} and {high}, not {value}")
    if isinstance(section, MediaSettings):
        if section.backend == "s3" and not section.bucket:
            raise ConfigError("media.bucket must be set when media.backend is \"s3\"")
        if not 0 <= section.signed_url_seconds <= 3600:
            raise ConfigError("media.signed_url_seconds must be 0 (the service passes files on) to 3600")
        return section
    if isinstance(section, MetricsSettings):
        for entry in section.allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ConfigError(f"metrics.allow: {entry!r} is not an address or network") from exc
        return section
    if isinstance(section, RecordSettings):
        try:
            thresholds_from(section.star_hours)
        except ValueError as exc:
            raise ConfigError(f"records.{exc}") from None
        if section.verify_per_minute < 1:
            raise ConfigError("records.verify_per_minute must be at least 1")
        return section
    if isinstance(section, Account):
        return dataclasses.replace(section, api_base=_slashed(section.api_base), oauth_base=_slashed(section.oauth_base))
    return section


def _slashed(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _check(raw: dict, origin: str) -> Settings:
    unknown = sorted(set(raw) - set(SECTIONS) - {"accounts"})
    if unknown:
        raise ConfigError(f"unknown configuration section [{unknown[0]}]")
    tables = {name: raw.get(name, {}) for name in SECTIONS}
    if (isinstance(tables["app"], dict) and tables["app"].get("env") == "production"
            and "max_clock_skew" not in tables["app"]):
        tables["app"] = {**tables["app"], "max_clock_skew": PRODUCTION_CLOCK_SKEW}
    sections = {name: _build(cls, name, tables[name]) for name, cls in SECTIONS.items()}
    raw_accounts = raw.get("accounts") or {}
    if not raw_accounts:
        raise ConfigError("missing required configuration key accounts: at least one [accounts.NAME]")
    if not isinstance(raw_accounts, dict):
        raise ConfigError("[accounts] must hold tables [accounts.NAME]")
    accounts = {name: _build(Account, f"accounts.{name}", table, name=name) for name, table in raw_accounts.items()}
    mains = [a.name for a in accounts.values() if a.main]
    if len(mains) != 1:
        raise ConfigError(f"accounts.*.main must be true on exactly one account (found {len(mains)})")
    settings = Settings(accounts=types.MappingProxyType(accounts), source=origin, **sections)
    if settings.production:
        _check_production(settings)
    return settings


def _check_production(settings: Settings) -> None:
    if settings.app.secret_key in ("", DEFAULT_SECRET_KEY):
        raise ConfigError("app.secret_key must be set to a secret value in production")
    if settings.sandbox.enabled:
        raise ConfigError("sandbox.enabled must be false in production: the sandbox is for development only")
    if not settings.security.data_key:
        raise ConfigError("security.data_key must be set in production (it encrypts ID numbers)")
    if settings.sms.sender != "http" or not settings.sms.endpoint:
        raise ConfigError("sms.sender must be \"http\" with sms.endpoint set in production (codes must reach people)")
    for account in settings.accounts.values():
        if not account.token:
            raise ConfigError(f"accounts.{account.name}.token must be set in production")
        if "/sandbox/" in account.api_base or "/sandbox/" in account.oauth_base:
            raise ConfigError(f"accounts.{account.name}.api_base points at the sandbox in production")

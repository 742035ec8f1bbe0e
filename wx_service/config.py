"""Configuration: one TOML file named by ``WX_SERVICE_CONFIG``, checked before anything starts.

Every key the service reads is declared in ``SCHEMA`` with its default; an unknown key, a
missing required key or a value of the wrong type stops start-up with a message that names
the key.  With no file at all the embedded development default is used: SQLite under
``var/``, jobs in the web process, and one demo account pointed at the sandbox.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app

DEFAULT_SECRET_KEY = "development-secret-key-change-me"
WECHAT_API_BASE = "https://api.weixin.qq.com/"
WECHAT_OAUTH_BASE = "https://open.weixin.qq.com/"

REQUIRED = object()
# The callback's timestamp freshness window when a production file does not set [app] max_clock_skew.
PRODUCTION_CLOCK_SKEW = 300

# section -> key -> (type, default).  REQUIRED marks keys without a default.
SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], object]]] = {
    "app": {
        "secret_key": (str, DEFAULT_SECRET_KEY),
        "base_url": (str, "http://127.0.0.1:5000"),
        "env": (str, "development"),
        "timezone": (str, "Asia/Shanghai"),
        "max_clock_skew": (int, 0),  # 300 in production unless set (PRODUCTION_CLOCK_SKEW); 0: no window
        "log_level": (str, "INFO"),
        "media_dir": (str, "var/media"),
        "weui": (str, "local"),
        "jssdk_url": (str, "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"),
        "proxy_hops": (int, 0),
        "volunteer_number_prefix": (str, "3206"),
    },
    "database": {
        "url": (str, REQUIRED),
        "echo": (bool, False),
    },
    "redis": {
        "url": (str, ""),
        "queue": (str, "wx_service"),
    },
    "security": {
        "data_key": (str, ""),
    },
    "sms": {
        "sender": (str, "log"),
        "endpoint": (str, ""),
        "api_key": (str, ""),
        "daily_limit": (int, 5),
    },
    "notifications": {
        "rate_per_second": (int, 20),
        "max_attempts": (int, 6),
        "retry_base_seconds": (int, 30),
        "lease_seconds": (int, 60),
        "send_threads": (int, 8),
    },
    "sandbox": {
        "enabled": (bool, False),
    },
    "attendance": {
        "rounding": (str, "ceil_half_hour"),
        "points_per_hour": ((int, float), 1),
        "points_expire_years": (int, 0),  # 礼遇坊 points expire N years after the year earned; 0: never
    },
    "projects": {
        "topic_orgs": (dict, {}),
        "ask_back_hours": (int, 24),  # 确认参加 / 不能参加 asked this long before a day opens; 0: off
        "message_every_minutes": (int, 60),  # a project admin's message to all accepted: once per window
    },
}

ACCOUNT_SCHEMA: dict[str, tuple[type | tuple[type, ...], object]] = {
    "app_id": (str, REQUIRED),
    "app_secret": (str, REQUIRED),
    "token": (str, ""),
    "encoding_aes_key": (str, ""),
    "api_base": (str, WECHAT_API_BASE),
    "oauth_base": (str, WECHAT_OAUTH_BASE),
    "main": (bool, False),
    "title": (str, ""),
    "templates": (dict, {}),
}

KNOWN_VALUES = {("app", "env"): ("development", "production"), ("app", "weui"): ("local", "cdn"),
                ("sms", "sender"): ("log", "http"),
                ("attendance", "rounding"): ("ceil_half_hour", "floor_half_hour", "nearest_quarter", "exact")}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class Account:
    """One official account (公众号): its credentials, API endpoints and template ids."""

    name: str
    app_id: str
    app_secret: str
    token: str
    encoding_aes_key: str
    api_base: str
    oauth_base: str
    main: bool
    title: str
    templates: dict = field(default_factory=dict)

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)


@dataclass(frozen=True)
class Settings:
    app: dict
    database: dict
    redis: dict
    security: dict
    sms: dict
    notifications: dict
    sandbox: dict
    attendance: dict
    projects: dict
    accounts: dict[str, Account]
    source: str

    @property
    def main_account(self) -> Account:
        return next(a for a in self.accounts.values() if a.main)

    @property
    def production(self) -> bool:
        return self.app["env"] == "production"

    # The values read on many pages, typed.  They read the sections live, so a test that patches a
    # section (``monkeypatch.setitem(settings.app, ...)``) is seen at once.
    @property
    def timezone(self) -> str:
        """The zone name (``Asia/Shanghai``), what the models take as ``tz``."""
        return self.app["timezone"]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.app["timezone"])

    @property
    def base_url(self) -> str:
        return self.app["base_url"]

    @property
    def media_dir(self) -> str:
        """Where received media are stored, as an absolute path."""
        return os.path.abspath(self.app["media_dir"])

    @property
    def max_clock_skew(self) -> int:
        return self.app["max_clock_skew"]

    @property
    def volunteer_number_prefix(self) -> str:
        return self.app["volunteer_number_prefix"]

    @property
    def sms_daily_limit(self) -> int:
        return self.sms["daily_limit"]

    @property
    def topic_orgs(self) -> dict[str, list[str]]:
        """``[projects] topic_orgs``: who may publish the restricted topics."""
        return self.projects["topic_orgs"]


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


def _typed(where: str, value, expected):
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer")
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false")
    if not isinstance(value, expected):
        raise ConfigError(f"{where} must be of type {getattr(expected, '__name__', expected)}")
    return value


def _section(name: str, raw: dict, schema: dict) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise ConfigError(f"unknown configuration key {name}.{unknown[0]}")
    out = {}
    for key, (expected, default) in schema.items():
        if key in raw:
            out[key] = _typed(f"{name}.{key}", raw[key], expected)
        elif default is REQUIRED:
            raise ConfigError(f"missing required configuration key {name}.{key}")
        else:
            out[key] = dict(default) if isinstance(default, dict) else default
        allowed = KNOWN_VALUES.get((name.split(".")[0], key))
        if allowed and out[key] not in allowed:
            raise ConfigError(f"{name}.{key} must be one of {', '.join(allowed)}")
    return out


def _check(raw: dict, origin: str) -> Settings:
    unknown = sorted(set(raw) - set(SCHEMA) - {"accounts"})
    if unknown:
        raise ConfigError(f"unknown configuration section [{unknown[0]}]")
    sections = {name: _section(name, raw.get(name, {}), schema) for name, schema in SCHEMA.items()}
    if sections["app"]["env"] == "production" and "max_clock_skew" not in raw.get("app", {}):
        sections["app"]["max_clock_skew"] = PRODUCTION_CLOCK_SKEW
    if sections["app"]["max_clock_skew"] < 0:
        raise ConfigError("app.max_clock_skew must be 0 (no window) or a number of seconds")
    raw_accounts = raw.get("accounts") or {}
    if not raw_accounts:
        raise ConfigError("missing required configuration key accounts: at least one [accounts.NAME]")
    accounts = {}
    for name, table in raw_accounts.items():
        values = _section(f"accounts.{name}", table, ACCOUNT_SCHEMA)
        for key in ("api_base", "oauth_base"):
            if not values[key].endswith("/"):
                values[key] += "/"
        for kind, template_id in values["templates"].items():
            _typed(f"accounts.{name}.templates.{kind}", template_id, str)
        accounts[name] = Account(name=name, **values)
    for topic, names in sections["projects"]["topic_orgs"].items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"projects.topic_orgs.{topic} must be a list of organization names")
    mains = [a.name for a in accounts.values() if a.main]
    if len(mains) != 1:
        raise ConfigError(f"accounts.*.main must be true on exactly one account (found {len(mains)})")
    settings = Settings(accounts=accounts, source=origin, **sections)
    if settings.production:
        _check_production(settings)
    return settings


def _check_production(settings: Settings) -> None:
    if settings.app["secret_key"] in ("", DEFAULT_SECRET_KEY):
        raise ConfigError("app.secret_key must be set to a secret value in production")
    if settings.sandbox["enabled"]:
        raise ConfigError("sandbox.enabled must be false in production: the sandbox is for development only")
    if not settings.security["data_key"]:
        raise ConfigError("security.data_key must be set in production (it encrypts ID numbers)")
    if settings.sms["sender"] != "http" or not settings.sms["endpoint"]:
        raise ConfigError("sms.sender must be \"http\" with sms.endpoint set in production (codes must reach people)")
    for account in settings.accounts.values():
        if not account.token:
            raise ConfigError(f"accounts.{account.name}.token must be set in production")
        if "/sandbox/" in account.api_base or "/sandbox/" in account.oauth_base:
            raise ConfigError(f"accounts.{account.name}.api_base points at the sandbox in production")

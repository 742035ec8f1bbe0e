"""wx_service: the WeChat official-account service of a city volunteer platform (江海志愿).

``create_app(config=None)`` builds the Flask application; ``config`` is a dict, a TOML path, or
None for ``$WX_SERVICE_CONFIG`` / the embedded development default.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import redis as redis_lib
from flask import Flask, current_app, has_app_context, request
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from jobs import storage as media_storage
from jobs.queue import InProcessBackend, RQBackend
from models import clock as model_clock
from models import db, personal_data
from models.base import ASYNC_COMMIT
from models.stats import tables as stats_tables

from . import clock, security_headers
from . import config as config_module
from .logs import configure_logging, install_request_logging
from .shared_store import DatabaseStore, RedisStore
from .wechat.api import WeChatClients

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = str(PACKAGE_DIR / "migrations")

csrf = CSRFProtect()
migrate = Migrate()
log = logging.getLogger(__name__)


def create_app(config=None) -> Flask:
    settings = config_module.load(config)
    configure_logging(settings.app.log_level)
    app = Flask(__name__)
    app.config.update(
        WX_SETTINGS=settings,
        SECRET_KEY=settings.app.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database.url,
        SQLALCHEMY_ECHO=settings.database.echo,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database.url),
        SQLALCHEMY_BINDS=_async_commit_bind(settings.database.url),
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.app.base_url.startswith("https://"),
        # The session cookie is sent only when the session changed: a page's read-only fetch answered
        # after a POST that set a flash would otherwise put back the cookie without it.
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        MEDIA_DIR=settings.app.media_dir,  # kept for tests that look at the stored files
    )
    from .wechat.callback_front import CallbackFront

    app.wsgi_app = CallbackFront(app, app.wsgi_app)  # the WeChat callback, answered in front of Flask's requests
    if settings.app.proxy_hops:
        hops = settings.app.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)

    from . import errors

    # Before any route is added: every ``<int:…>`` of every blueprint is bounded to the database's range.
    app.url_map.converters["int"] = errors.IdConverter

    db.init_app(app)
    _install_after_commit()
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    errors.register_edge(app)
    csrf.init_app(app)
    _init_stores(app, settings)
    app.extensions[media_storage.EXTENSION] = media_storage.from_settings(settings.media, settings.app.media_dir)
    _use_personal_data_keys(app, settings)
    model_clock.use_source(clock.app_time)  # the one clock, stoppable by a TESTING app's CLOCK_NOW
    app.extensions["wechat"] = WeChatClients(settings, app.extensions["wx_store"])
    _check_template_kinds(settings)

    from . import cli, pages
    from .ops import health, metrics
    from .wechat import jssdk, oauth

    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(jssdk.bp)
    pages.register(app)
    errors.register(app)
    cli.register(app)
    if settings.sandbox.enabled:  # refused in production: there, nothing of wx_service.dev is imported
        from . import dev

        dev.install(app)
    install_request_logging(app)
    app.after_request(_security_headers)

    if settings.app.env == "development" and not os.environ.get("WX_SERVICE_NO_AUTO_UPGRADE"):
        _upgrade(app)
    return app


def _use_personal_data_keys(app: Flask, settings) -> None:
    """The models take the data keys (and the monthly 时长达标 target), never the app: they read them from sources
    that answer the current app's (``personal_data.use_source``, ``stats_tables.use_monthly_target``), as the
    clock does.  Nothing is done per request: a request that reads no personal data pays nothing."""
    app.extensions["wx_personal_data"] = personal_data.keys_from(settings.security.data_key, settings.app.secret_key)
    personal_data.use_source(_app_keys)
    stats_tables.use_monthly_target(_app_monthly_target)


def _app_keys():
    return current_app.extensions.get("wx_personal_data") if has_app_context() else None


def _app_monthly_target():
    return config_module.settings().stats.monthly_target_hours if has_app_context() \
        else stats_tables.DEFAULT_MONTHLY_TARGET


def _security_headers(response):
    return security_headers.add(response, request.path)


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20, "pool_recycle": 1800}


def _async_commit_bind(url: str) -> dict:
    """On PostgreSQL, a small pool in autocommit whose commits do not wait for the disk
    (``models.base.ASYNC_COMMIT``)."""
    if url.startswith("sqlite"):
        return {}
    return {ASYNC_COMMIT: {"url": url, **_engine_options(url), "pool_size": 2, "max_overflow": 8,
                           "pool_pre_ping": False,  # its one user retries on a dropped connection instead
                           "isolation_level": "AUTOCOMMIT", "connect_args": {"options": "-c synchronous_commit=off"}}}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL lets the page threads read while the job thread writes on the embedded default."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _install_after_commit() -> None:
    """The one after-commit listener pair, and what runs after a commit: jobs asked for with
    ``later``, the outbox's deliveries, the admin tag, the follower cards, the media fetches (``models.base``)."""
    import jobs
    from jobs import admin_tags, delivery
    from jobs import media as media_jobs
    from models.base import install_after_commit, when_committed
    from models.follower import FOLLOW_CHANGES
    from models.media import FETCH as MEDIA_FETCH
    from models.notification import PENDING_DELIVERY
    from models.organization import ADMIN_CHANGES
    from models.volunteer import BINDING_CHANGES

    from .wechat import follower_cards

    install_after_commit()
    when_committed(jobs.submit_later, jobs.LATER)
    when_committed(delivery.submit_committed, PENDING_DELIVERY)
    when_committed(admin_tags.tags_to_move, ADMIN_CHANGES, BINDING_CHANGES)
    when_committed(follower_cards.drop_changed, BINDING_CHANGES, FOLLOW_CHANGES, ADMIN_CHANGES)
    when_committed(media_jobs.submit_fetches, MEDIA_FETCH)


def _init_stores(app: Flask, settings) -> None:
    db_store = DatabaseStore(lambda: db.engine)
    app.extensions["wx_db_store"] = db_store
    url = settings.redis.url
    if url:
        connection = redis_lib.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2,
                                              health_check_interval=30)
        app.extensions["wx_redis"] = connection
        app.extensions["wx_store"] = RedisStore(connection, settings.redis.queue)
        app.extensions["wx_jobs"] = RQBackend(connection, settings.redis.queue)
    else:
        app.extensions["wx_redis"] = None
        app.extensions["wx_store"] = db_store
        app.extensions["wx_jobs"] = InProcessBackend(app)


def _check_template_kinds(settings) -> None:
    from models.notification_kinds import KNOWN_KINDS

    for account in settings.accounts.values():
        for kind in account.templates:
            if kind not in KNOWN_KINDS:
                log.warning("accounts.%s.templates.%s: the code knows no notification of this kind",
                            account.name, kind)


def _upgrade(app: Flask) -> None:
    from flask_migrate import upgrade

    url = config_module.settings(app).database.url
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)

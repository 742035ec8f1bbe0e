"""Shared fixtures: real PostgreSQL and Redis, the app with a live sandbox, signed callbacks.

PostgreSQL and Redis come from ``DATABASE_URL`` / ``REDIS_URL`` (defaults: the local services on
their standard ports).  Each test session works in a database and a Redis key space of its own,
so several sessions can run side by side.  A service that cannot be reached skips its tests with
the reason — except under ``CI=true``, where it fails them.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import redis as redis_lib

from tests.support.appfactory import AppHandle, build_app

PG_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
SESSION_TAG = uuid.uuid4().hex[:8]


def _unavailable(what: str, exc: Exception):
    reason = f"{what} unreachable ({exc.__class__.__name__}: {exc})"
    if IN_CI:
        pytest.fail(f"{reason}; under CI=true this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database for this session, dropped at the end."""
    admin_url = _psycopg_url(PG_URL)
    name = f"wx_test_{SESSION_TAG}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    base = admin_url.rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url():
    try:
        client = redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except redis_lib.RedisError as exc:
        _unavailable("Redis", exc)
    yield REDIS_URL
    prefix = f"wx_test_{SESSION_TAG}"
    for key in client.scan_iter(f"*{prefix}*", count=1000):
        client.delete(key)


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory) -> AppHandle:
    handle = build_app(database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'wx.sqlite3'}",
                       redis_url="", tag=f"wx_test_{SESSION_TAG}_lite", media=tmp_path_factory.mktemp("media"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def pg_app(postgres_url, redis_url, tmp_path_factory) -> AppHandle:
    handle = build_app(database_url=postgres_url, redis_url=redis_url, tag=f"wx_test_{SESSION_TAG}_pg",
                       media=tmp_path_factory.mktemp("media"))
    yield handle
    handle.stop()


@pytest.fixture(params=["postgres", "sqlite"])
def any_app(request) -> AppHandle:
    """The same test on PostgreSQL + Redis (production) and SQLite + in-process jobs (embedded)."""
    handle = request.getfixturevalue("pg_app" if request.param == "postgres" else "sqlite_app")
    handle.reset()
    yield handle
    handle.reset()


@pytest.fixture
def app_pg(pg_app) -> AppHandle:
    pg_app.reset()
    yield pg_app
    pg_app.reset()


@pytest.fixture
def app_lite(sqlite_app) -> AppHandle:
    sqlite_app.reset()
    yield sqlite_app
    sqlite_app.reset()

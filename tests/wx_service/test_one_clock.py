"""One clock, one settings accessor: pages, handlers and jobs read the one clock of ``models.clock`` (a test
can stop it; the pages through ``wx_service.clock.now``), and the one typed configuration — the faces through
``config.settings()``, handlers as ``incoming.settings``, jobs through ``jobs.settings()`` — while no
package below ``wx_service`` imports it."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import jobs
from jobs.delivery import deliver_notifications
from models import Notification, clock, db, utcnow
from tests.jobs.test_delivery import _one
from tests.support.settings import override
from tests.wx_service.pages.test_inbox import _inbox_of, browser
from wx_service import clock as face_clock
from wx_service import config

ROOT = Path(__file__).resolve().parents[2]


def _stopped():
    """A moment the real clock is not at: a stopped clock's reading is recognisable."""
    return utcnow().replace(microsecond=0) + timedelta(minutes=7)


def test_a_page_reads_the_stopped_clock(any_app, monkeypatch):
    linked, _read, _foreign = _inbox_of(any_app, "o_clock_inbox")
    stopped = _stopped()
    monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", stopped)
    page = browser("o_clock_inbox").get(any_app.base_url + f"/m/me/inbox/{linked}?account=demo")
    assert page.status_code == 200
    with any_app.app.app_context():
        assert db.session.get(Notification, linked).read_at == stopped


def test_a_job_reads_the_stopped_clock(app_lite, monkeypatch):
    nid = _one(app_lite, "o_clock_job")
    app_lite.drain_jobs()
    with app_lite.app.app_context():  # sent once by the commit's job; sent again, the row is pending anew
        row = db.session.get(Notification, nid)
        row.state, row.sent_at = "pending", None
        db.session.commit()
    stopped = _stopped()
    monkeypatch.setitem(app_lite.app.config, "CLOCK_NOW", stopped)
    with app_lite.app.app_context():
        deliver_notifications([nid])
        assert db.session.get(Notification, nid).sent_at == stopped


def test_the_clock_is_one_and_its_source_injectable(app_lite, monkeypatch):
    assert face_clock.now is clock.now  # the faces' now is the models' one, not a second implementation
    stopped = _stopped()
    monkeypatch.setitem(app_lite.app.config, "CLOCK_NOW", stopped)
    with app_lite.app.app_context():
        assert clock.now() == stopped and face_clock.now() == stopped
    assert clock.now() != stopped  # outside the app, the real time
    monkeypatch.setattr(app_lite.app, "testing", False)
    with app_lite.app.app_context():  # an app not TESTING never honours CLOCK_NOW
        assert clock.now() != stopped
    fixed = stopped + timedelta(days=1)
    try:
        clock.use_source(lambda: fixed)
        assert clock.now() == fixed
        clock.use_source(None)  # None gives back the real time
        assert utcnow() - timedelta(seconds=5) <= clock.now() <= utcnow()
    finally:
        clock.use_source(face_clock.app_time)  # as create_app left it


def test_settings_of_the_current_app_typed_and_live(app_lite, monkeypatch):
    with app_lite.app.app_context():
        settings = config.settings()
        assert settings is app_lite.app.config["WX_SETTINGS"] and config.settings(app_lite.app) is settings
        assert jobs.settings() is settings  # the jobs' reader gives the same object
        assert settings.app.tz == ZoneInfo("Asia/Shanghai") and settings.app.timezone == "Asia/Shanghai"
        assert os.path.isabs(settings.app.media_dir) and settings.app.media_dir == app_lite.app.config["MEDIA_DIR"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.app.timezone = "Asia/Urumqi"  # read-only: a change is a checked copy put in its place
        override(app_lite.app, monkeypatch, "app", timezone="Asia/Urumqi")
        assert config.settings().app.tz == ZoneInfo("Asia/Urumqi") == face_clock.zone()  # seen at once
        assert jobs.settings() is config.settings()


def test_settings_outside_an_app_is_an_error():
    with pytest.raises(RuntimeError):
        config.settings()
    with pytest.raises(RuntimeError):
        jobs.settings()


def _sources(*folders):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


# The database store's expiries stand in for Redis's TTLs, which no test can stop (see DatabaseStore).
REAL_TIME = {"wx_service/clock.py", "wx_service/shared_store.py", "jobs/maintenance.py"}


# The one reader of the app's settings per layer: the faces' accessor (and create_app, which stores it), the jobs' one.
SETTINGS_READERS = {"wx_service/config.py", "wx_service/__init__.py", "jobs/__init__.py"}


def test_one_clock_and_one_settings_accessor_in_the_faces_and_jobs():
    clocks = [name for name, text in _sources("wx_service", "handlers", "jobs")
              if name not in REAL_TIME and re.search(r"\butcnow\(|datetime\.(utc)?now\(", text)]
    readers = [name for name, text in _sources("wx_service", "handlers", "jobs", "menus")
               if name not in SETTINGS_READERS and re.search(r"WX_SETTINGS|config\[\"MEDIA_DIR\"\]", text)]
    implementations = [name for name, text in _sources("wx_service", "handlers", "jobs", "menus", "models")
                       if re.search(r"^def now\(", text, re.MULTILINE)]
    assert clocks == [] and readers == [] and implementations == ["models/clock.py"]


def _imported(text: str) -> set[str]:
    """Every module a source imports, at any depth (a function-local or TYPE_CHECKING import counts too)."""
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_package_below_the_application_imports_it():
    upward = [(name, module) for name, text in _sources("jobs", "handlers", "menus", "models")
              for module in sorted(_imported(text)) if module == "wx_service" or module.startswith("wx_service.")]
    assert upward == []


def test_models_take_keys_and_zones_and_never_reach_into_the_app():
    assert [name for name, text in _sources("models") if "current_app" in text] == []

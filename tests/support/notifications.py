"""Helpers of the notification tests: volunteers with bindings, worker processes, short retries."""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import tomli_w

from tests.support.settings import override

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash("secret-password")  # hashing is slow on purpose: once per session


def make_volunteer(name: str | None = None, bindings: dict | None = None, following: bool | None = True,
                   seen_ago: timedelta = timedelta(minutes=5), left: tuple = ()):
    """A Nantong resident's volunteer row bound on ``bindings`` ({account: openid}), with a follower row per binding.

    ``following=None`` leaves no follower row; ``left`` names accounts the user unfollowed.
    Call inside an app context; commits.
    """
    from models import Binding, Follower, db, utcnow
    from tests.support.people import new_volunteer

    now = utcnow()
    volunteer = new_volunteer(name, password_hash=_password_hash())
    db.session.add(volunteer)
    db.session.flush()
    for account, openid in (bindings or {}).items():
        db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id))
        if following is not None:
            follower = Follower(account=account, openid=openid, following=following, last_seen_at=now - seen_ago)
            if account in left:
                follower.unsubscribe(now - seen_ago)
            db.session.add(follower)
    db.session.commit()
    return volunteer.id


def set_notifications(handle, monkeypatch, tmp_path, **values) -> Path:
    """Apply ``[notifications]`` values in this process and write a config file for worker processes."""
    settings = override(handle.app, monkeypatch, "notifications", **values)
    config = copy.deepcopy(handle.config)
    config["notifications"] = dataclasses.asdict(settings.notifications)
    path = tmp_path / "worker.toml"
    path.write_bytes(tomli_w.dumps(config).encode())
    return path


def worker_env(config_path) -> dict:
    return dict(os.environ, WX_SERVICE_CONFIG=str(config_path), PYTHONPATH=str(ROOT),
                WX_SERVICE_NO_AUTO_UPGRADE="1")


def start_worker(config_path) -> subprocess.Popen:
    """``flask --app wx_service worker --burst`` in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wx_service", "worker", "--burst"],
                            cwd=str(ROOT), env=worker_env(config_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_worker(config_path, timeout: float = 60) -> str:
    """Run a burst worker until the queue is empty; its output."""
    proc = start_worker(config_path)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out

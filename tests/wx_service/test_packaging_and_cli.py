"""What a deployment relies on: the wheel carries migrations and assets, gunicorn serves the
factory, ``db upgrade`` works from any directory, ``menus sync`` pushes both menus."""

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import requests

from tests.support.appfactory import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_migrations_templates_and_static_files(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w",
                            str(tmp_path), str(ROOT)], check=True, capture_output=True, text=True)
    # the package data is declared, not guessed: setuptools has nothing to warn about
    assert "SetuptoolsDeprecationWarning" not in build.stdout + build.stderr
    assert "Package would be ignored" not in build.stdout + build.stderr
    wheel = next(tmp_path.glob("wx_service-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("wx_service/migrations/env.py", "wx_service/migrations/alembic.ini",
                     "wx_service/templates/base.html", "wx_service/static/weui/weui.min.css",
                     "wx_service/dev/sandbox/static/jweixin.js", "handlers/router.py", "models/base.py",
                     "menus/definitions.py", "jobs/queue.py"):
        assert expected in names, expected
    versions = [n for n in names if n.startswith("wx_service/migrations/versions/") and n.endswith(".py")]
    assert len(versions) == len(list((ROOT / "wx_service/migrations/versions").glob("*.py")))


def _env(config_path, **extra):
    env = dict(os.environ, WX_SERVICE_CONFIG=str(config_path), PYTHONPATH=str(ROOT), **extra)
    env.pop("WX_SERVICE_NO_AUTO_UPGRADE", None)
    return env


def _unrelated_flask_first_on_path(tmp_path) -> str:
    """A PATH whose first ``flask`` (and gunicorn, rq) is someone else's: the tests must not run it."""
    bin_dir = tmp_path / "other-bin"
    bin_dir.mkdir()
    for name in ("flask", "gunicorn", "rq"):
        tool = bin_dir / name
        tool.write_text('#!/bin/sh\necho "an unrelated $0, not this project" >&2\nexit 3\n')
        tool.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def _production_config(tmp_path, db_file) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(f'[app]\nenv = "production"\nsecret_key = "s3cret-for-test"\n'
                      f'[security]\ndata_key = "{"A" * 43}="\n[sms]\nsender = "http"\nendpoint = "http://127.0.0.1:9/"\n'
                      f'[database]\nurl = "sqlite:///{db_file}"\n'
                      '[accounts.a]\napp_id = "wx1"\napp_secret = "s"\ntoken = "t"\nmain = true\n')
    return config


def test_a_production_wheel_leaves_dev_out_and_starts_without_it(tmp_path):
    """``WX_SERVICE_WITHOUT_DEV=1`` builds a wheel without wx_service/dev/; production starts from it."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, text=True, env=dict(os.environ, WX_SERVICE_WITHOUT_DEV="1"))
    wheel = next(tmp_path.glob("wx_service-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.startswith("wx_service/dev/")] == []
    assert {"wx_service/templates/base.html", "wx_service/cli/workers.py", "wx_service/wechat/callback.py"} <= set(names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    probe = ("import sys, wx_service; wx_service.create_app(); print(wx_service.__file__); "
             "print(sorted(m for m in sys.modules if m.startswith('wx_service.dev')))")
    env = dict(os.environ, WX_SERVICE_CONFIG=str(_production_config(tmp_path, tmp_path / "p.sqlite3")),
               PYTHONPATH=str(target))
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    package_file, dev_modules = result.stdout.splitlines()[-2:]
    assert package_file.startswith(str(target))
    assert dev_modules == "[]"


def test_production_start_up_imports_nothing_of_dev(tmp_path):
    """The sandbox and the demo are mounted only in development: production never loads wx_service.dev."""
    probe = "import sys, wx_service; wx_service.create_app(); print(any(m.startswith('wx_service.dev') for m in sys.modules))"
    development = dict(os.environ, PYTHONPATH=str(ROOT), WX_SERVICE_NO_AUTO_UPGRADE="1")
    development.pop("WX_SERVICE_CONFIG", None)
    production = dict(development, WX_SERVICE_CONFIG=str(_production_config(tmp_path, tmp_path / "p.sqlite3")))
    loaded = {name: subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True,
                                   text=True, timeout=120)
              for name, env in (("production", production), ("development", development))}
    assert loaded["production"].stdout.strip() == "False", loaded["production"].stderr[-2000:]
    assert loaded["development"].stdout.strip() == "True", loaded["development"].stderr[-2000:]


def test_db_upgrade_from_any_working_directory(tmp_path):
    db_file = tmp_path / "fresh.sqlite3"
    config = _production_config(tmp_path, db_file)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wx_service", "db", "upgrade"], cwd=tmp_path,
                            env=_env(config, PATH=_unrelated_flask_first_on_path(tmp_path)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(db_file).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "volunteer", "binding", "follower"} <= tables


def test_gunicorn_serves_the_factory(app_lite, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                             "wx_service:create_app()"], cwd=tmp_path,
                            env=_env(app_lite.config_path, PATH=_unrelated_flask_first_on_path(tmp_path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while True:
            try:
                res = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.RequestException:
                assert time.time() < deadline, proc.stderr.read1().decode()[-2000:]
                time.sleep(0.2)
        assert res.status_code == 200 and res.json()["database"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_menus_sync_pushes_default_and_admin_menu(any_app):
    runner = any_app.app.test_cli_runner()
    result = runner.invoke(args=["menus", "sync", "--account", "demo"])
    assert result.exit_code == 0, result.output
    assert "menus pushed" in result.output
    assert len(any_app.sandbox.calls_to("cgi-bin/menu/create")) == 1
    assert len(any_app.sandbox.calls_to("cgi-bin/menu/addconditional")) == 1
    bad = runner.invoke(args=["menus", "sync", "--account", "nosuch"])
    assert bad.exit_code != 0 and "no account named" in bad.output


def test_no_test_runs_a_bare_flask_gunicorn_or_rq():
    """Whatever ``flask`` is first on PATH is not necessarily ours: tests run ``sys.executable -m …``."""
    import ast

    bare = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant) \
                    and node.elts[0].value in ("flask", "gunicorn", "rq", "rqworker", "pytest", "pip"):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []


def test_system_deps_says_what_it_installs_and_waits_for_the_dpkg_lock(tmp_path):
    """Run as root on a machine without chromium or ffmpeg (a fake apt-get records what it is asked)."""
    import shutil

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 0\n")
    (fake / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/apt.log\n')
    for tool in fake.iterdir():
        tool.chmod(0o755)
    make = shutil.which("make")
    result = subprocess.run([make, "-s", "-C", str(ROOT), "system-deps"], env={"PATH": str(fake)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing chromium ffmpeg" in result.stdout
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert len(calls) == 2 and all("DPkg::Lock::Timeout=" in c for c in calls)
    assert "install -y -qq chromium ffmpeg" in calls[1]

"""The deployment files: the nginx example parses and buffers slow clients; gunicorn's config loads and fits it.

Slow clients (a form body sent one byte a second) must meet nginx, never a sync worker: the example
config reads whole requests with bounded timeouts before passing them on, and gunicorn's timeout is
shorter than nginx's wait for an answer.  ``nginx -t`` checks the example when nginx is installed;
otherwise the same settings are checked as text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_EXAMPLE = ROOT / "deploy" / "nginx.conf.example"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.endswith(";"):
            name, _, value = line[:-1].partition(" ")
            out.setdefault(name, []).append(value.strip())
    return out


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(s|m)?", value).groups()
    return int(number) * (60 if unit == "m" else 1)


def gunicorn_settings() -> dict:
    namespace: dict = {}
    before = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    try:
        exec(compile(GUNICORN_CONF.read_text(), str(GUNICORN_CONF), "exec"), namespace)  # as gunicorn reads it
    finally:  # the file sets the metrics directory for gunicorn; it must not leak into this test process
        if before is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = before
    return {k: v for k, v in namespace.items() if not k.startswith("_")}


def test_the_nginx_example_buffers_slow_clients_with_bounded_timeouts():
    d = directives(NGINX_EXAMPLE.read_text())
    assert d["proxy_request_buffering"] == ["on"] and d["proxy_buffering"] == ["on"]
    for name in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert seconds(d[name][0]) <= 30, name
    assert d["client_max_body_size"][0] == "12m"  # the app's MAX_CONTENT_LENGTH
    assert all(p.startswith("http://wx_service") for p in d["proxy_pass"])


def test_gunicorn_timeouts_fit_the_proxy():
    settings = gunicorn_settings()
    d = directives(NGINX_EXAMPLE.read_text())
    assert settings["worker_class"] == "sync" and settings["workers"] >= 2
    # gunicorn gives up on a stuck worker before nginx gives up on the answer
    assert settings["timeout"] < seconds(d["proxy_read_timeout"][0])
    assert settings["graceful_timeout"] <= settings["timeout"]
    assert settings["bind"].startswith("127.0.0.1:") and d["server"][0] == settings["bind"]


def test_the_gunicorn_config_loads_in_gunicorn(tmp_path):
    env = {**os.environ, "WX_SERVICE_NO_AUTO_UPGRADE": "1", "WX_SERVICE_CONFIG": ""}
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "-c", str(GUNICORN_CONF),
                             "wx_service:create_app()"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (the settings are checked as text above)")
def test_nginx_accepts_the_example(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=wx.example.org", "-keyout", str(tmp_path / "privkey.pem"), "-out",
                    str(tmp_path / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    site = NGINX_EXAMPLE.read_text().replace("/etc/ssl/wx_service", str(tmp_path)).replace(
        "/var/log/nginx", str(tmp_path))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log {tmp_path}/access.log;\n  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

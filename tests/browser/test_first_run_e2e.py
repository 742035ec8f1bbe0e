"""The README's first run, as a newcomer does it: ``make run``, the sandbox phone, the demo admin's
menu, 打卡签到 with a distance.

The service is started by the Makefile's own ``run`` target (``make -f <checkout>/Makefile run
PORT=…``) in a scratch working directory, so its var/ (SQLite, media) is fresh; the virtualenv is the
one running this test (``VENV=sys.prefix``: the checkout's .venv under ``make test``), already built, so
``run`` finds it up to date and installs nothing — a pip install of its own would double the time.
Headless Chromium plays the newcomer, with the JS-SDK stand-in the embedded default loads.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, WECHAT_UA, screenshot
from tests.support.appfactory import free_port
from tests.support.sandbox_phone import phone_as

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.first_run, pytest.mark.browser, pytest.mark.timeout(120)]


class MakeRun:
    """``make run`` on a free port in ``workdir``; ``start()`` returns once the service says it is running."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.output: list[str] = []

    def start(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WX_SERVICE_")}  # the embedded default
        self.proc = subprocess.Popen([shutil.which("make"), "-s", "-f", str(ROOT / "Makefile"), "run",
                                      f"PORT={self.port}", f"VENV={sys.prefix}"], cwd=self.workdir, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        for line in self.proc.stdout:
            self.output.append(line)
            if "wx_service is running" in line:
                break
        else:
            pytest.fail("make run ended before serving:\n" + "".join(self.output[-60:]))
        stdout = self.proc.stdout
        threading.Thread(target=lambda: [self.output.append(line) for line in stdout], daemon=True).start()
        return self.base

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # make and the server it started, nothing else
            self.proc.wait(timeout=30)


@pytest.fixture
def make_run(tmp_path):
    run = MakeRun(tmp_path)
    yield run
    run.stop()


def _checkin_distance(browser, base) -> str:
    """A demo volunteer (signed up to today's 双签 project) opens 打卡签到 from the phone's menu."""
    context = browser.new_context(user_agent=WECHAT_UA, viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(20000)
    try:
        page = phone_as(context, base, "o_demo_volunteer")
        page.locator("#menu > .top > button", has_text="志愿者").click()
        page.locator("#menu .sub button", has_text="打卡签到").click()
        webview = page.frame_locator("#webview-frame")
        webview.locator("a.checkin-project", has_text="濠河风景区").click()
        distance = webview.locator("#punch-distance", has_text="距活动地点约")
        distance.wait_for()
        assert webview.locator(".jssdk-notice").count() == 0
        screenshot(page, "first-run-checkin")
        return distance.inner_text()
    finally:
        context.close()


def test_make_run_then_the_demo_admin_has_the_admin_menu_and_check_in_shows_a_distance(make_run, browser):
    base = make_run.start()
    assert (make_run.workdir / "var" / "wx_service.sqlite3").exists()  # var/ of the working directory
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    context.set_default_timeout(20000)
    try:
        phone = phone_as(context, base, "o_demo_admin")
        admin_menu = phone.locator("#menu > .top > button", has_text="志愿组织")
        admin_menu.wait_for()  # the tag from seeding: the conditional menu of admins
        admin_menu.click()
        for item in ("签到扫码", "报名审核", "补签审核", "活动审核", "活动发布"):
            assert phone.locator("#menu > .top", has_text="志愿组织").locator(".sub button", has_text=item).count()
        screenshot(phone, "first-run-admin-menu")
    finally:
        context.close()
    assert "米" in _checkin_distance(browser, base)

    # a second start on the same var/: a new sandbox, the same city, the JS-SDK still signs
    make_run.stop()
    make_run.start()
    assert "米" in _checkin_distance(browser, base)
    assert not [line for line in make_run.output if "Traceback" in line], "".join(make_run.output[-80:])

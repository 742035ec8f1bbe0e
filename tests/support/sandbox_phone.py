"""What a person does on the sandbox phone page and in its web view, for the browser tests."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.people import id_number


def follow_and_tap_bind(phone, openid: str):
    """The sandbox phone follows the account as ``openid`` and taps 志愿者 → 账号绑定; the web view's frame."""
    phone.goto(phone.app.base_url + "/sandbox/phone")
    phone.fill("#openid", openid)
    phone.click("#follow")
    phone.wait_for_selector("text=欢迎关注江海志愿")
    phone.click("#menu >> text=志愿者")
    phone.click("#menu >> text=账号绑定")
    return phone.frame_locator("#webview-frame")


def phone_as(context, base_url: str, openid: str):
    """A new page of the browser ``context`` on the sandbox phone of ``base_url``, as the follower ``openid``."""
    page = context.new_page()
    page.goto(base_url + "/sandbox/phone")
    page.fill("#openid", openid)
    page.dispatch_event("#openid", "change")
    return page


def fill_in(form, **fields: str) -> None:
    """Type each of ``fields`` into the form's text box of that name (an input or a textarea), in that order."""
    for name, value in fields.items():
        form.locator(f"input[name={name}], textarea[name={name}]").fill(value)


def fill_identity(form, *, birth: str, name: str, password: str, gender: str = "F") -> None:
    """The register form's 证件 (a mainland ID number born ``birth``, no other test's), name, gender and password."""
    form.locator("select[name=id_type]").select_option("mainland_id")
    form.locator("input[name=id_number]").fill(id_number(birth, male=gender == "M"))
    form.locator("input[name=name]").fill(name)
    form.locator(f"input[name=gender][value={gender}]").check()
    form.locator("input[name=password]").fill(password)
    form.locator("input[name=password_repeat]").fill(password)


def city_on(phone, setup: Callable):
    """For a fixture (``yield from city_on(phone, setup_city)``): ``setup(app)`` on the phone's app and its jobs
    run, then ``(handle, app, what setup returned)``; the test stops the clock where it needs it, and it runs
    again after the test."""
    handle = phone.app
    made = setup(handle.app)
    handle.drain_jobs()
    yield handle, handle.app, made
    handle.app.config.pop("CLOCK_NOW", None)

"""Templates render the rule constants (``rules``) instead of restating them: a number that a rule in models/
(or a page's upload limit) decides never appears in a template as text."""

from __future__ import annotations

import re
from pathlib import Path

from flask import render_template_string

from models import attendance as att
from models import identity, notification, sms_code
from models import project as pr
from models.attendance import objection
from wx_service.pages.me import AVATAR_MAX_BYTES
from wx_service.pages.orgs import LOGO_MAX_BYTES
from wx_service.pages.rule_constants import RULES

TEMPLATES = Path(__file__).resolve().parents[3] / "wx_service" / "templates"
MB = 1024 * 1024

#: (rule name, its value from the source, the units a text would write after the number)
RESTATABLE = [
    ("sign_out_after_minutes", att.MIN_CYCLE.total_seconds() // 60, "分钟"),
    ("makeup_days", att.MAKEUP_DAYS, "天|个自然日"),
    ("publicity_days", att.PUBLICITY_DAYS, "天|个自然日"),
    ("max_temp_admins", pr.MAX_TEMP_ADMINS, "人"),
    ("short_name_max", pr.SHORT_NAME_MAX, "个字"),
    ("logo_mb", LOGO_MAX_BYTES // MB, "MB|M"),
    ("avatar_mb", AVATAR_MAX_BYTES // MB, "MB|M"),
    ("reply_window_hours", notification.CUSTOM_WINDOW.total_seconds() // 3600, "小时|个小时"),
    ("sms_valid_minutes", sms_code.VALIDITY.total_seconds() // 60, "分钟"),
    ("sms_day_hours", sms_code.DAY_SECONDS // 3600, "小时"),
    ("password_min", identity.PASSWORD_MIN_LENGTH, "位"),
    ("adult_age", identity.ADULT_AGE, "周岁|岁"),
    ("sms_resend_minutes", sms_code.RESEND_AFTER.total_seconds() // 60, "分钟后"),
    ("objection_reason_min", objection.REASON_MIN, "个字"),
]


def test_the_rules_given_to_templates_are_the_constants():
    assert {name: RULES[name] for name, _, _ in RESTATABLE} == {name: int(value) for name, value, _ in RESTATABLE}


def test_no_template_restates_a_rule_constant():
    restated: dict = {}  # (template, line, text) -> the rules it may restate
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for name, value, units in RESTATABLE:
            for match in re.finditer(rf"(?<![\d.#]){int(value)}\s*(?:{units})", source):
                line = source.count("\n", 0, match.start()) + 1
                restated.setdefault((str(path.relative_to(TEMPLATES)), line, match.group(0)), []).append(name)
    assert not restated, "\n".join(f"{where}:{line}: {text!r} (use rules.{' or rules.'.join(names)})"
                                    for (where, line, text), names in restated.items())


def test_macros_imported_without_context_see_the_rules(app_lite):
    with app_lite.app.test_request_context():
        html = render_template_string('{% from "orgs/_macros.html" import org_fields %}'
                                      "{{ org_fields({}, [], [], [], []) }}")
    assert f"不超过{LOGO_MAX_BYTES // MB}MB" in html

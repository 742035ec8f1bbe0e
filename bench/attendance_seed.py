"""Seeding for the attendance benchmarks (run inside ``common.service_stack``'s seed, app context pushed).

The admin, its root org and the project go through the model functions (``create_root``,
``publish_project``); the many volunteers, their bindings and their accepted signups are bulk inserts
(the model functions would take minutes for 20,000), so a project may hold more accepted signups than
its recruit count — the punch rules do not look at it.
"""

from __future__ import annotations

import secrets

from werkzeug.security import generate_password_hash

from models import Binding, Volunteer, db, utcnow
from models.org_rules import create_root
from models.project import local_now
from models.project_rules import publish_project
from models.signup import ACCEPTED, Signup
from tests.support import people
from tests.support.projects import typed

ADMIN = "o_bench_admin"
POINT = (32.0045, 120.8590)  # 濠河风景区南大门, gcj02


def _volunteer(n: int, name: str, password_hash: str) -> Volunteer:
    volunteer = Volunteer(number=f"3206{n:011d}", name=name, gender="M", id_type="身份证",
                          qr_token=secrets.token_urlsafe(18), password_hash=password_hash)
    volunteer.set_id_number(f"32060219900{n:08d}")
    volunteer.set_phone(f"13{n:09d}")
    return volunteer


def seed(mode: str, count: int, tz: str, *, bind_prefix: str | None = None) -> int:
    """A bound admin (openid ``ADMIN``) of the root org; a ``mode`` ('single'/'double') project of that
    org running all day today (``tz``), a site at ``POINT`` with radius 200 m; ``count`` volunteers
    accepted on it (bound to ``bind_prefix + i`` when given).  Commits; returns the project id."""
    now = utcnow()
    today = local_now(now, tz).date().isoformat()
    admin = _volunteer(9_999_999, "管理员", generate_password_hash("bench-pw", method="pbkdf2:sha256:1000"))
    db.session.add(admin)
    db.session.flush()
    people.bind(admin, ADMIN)
    create_root("江海志愿者服务总站", admin, now=now)
    fields = {"name": "濠河风景区志愿服务", "short_name": "濠河服务", "recruit_count": 100, "scope": "all",
              "needs_review": "0", "category": "文明实践", "service_targets": ["社会公众"], "region": "崇川区",
              "place": "濠河风景区南大门", "latitude": POINT[0], "longitude": POINT[1], "description": "基准测试",
              "signup_start": today, "signup_end": today, "start_date": today, "end_date": today,
              "daily_start": "00:00", "daily_end": "23:59", "checkin_mode": mode}
    if mode == "single":
        fields.update(preset_hours=2, punch_radius="", checkout_mode="")
    else:
        fields.update(punch_radius=200, checkout_mode="central")
    project = publish_project(admin, typed(fields), now=now, tz=tz)
    db.session.commit()
    project_id, password = project.id, admin.password_hash
    base = 10_000_000
    for start in range(0, count, 2000):
        batch = []
        for i in range(start, min(start + 2000, count)):
            batch.append(_volunteer(base + i, f"志愿者{i}", password))
        db.session.add_all(batch)
        db.session.flush()
        db.session.add_all(Signup(project_id=project_id, volunteer_id=v.id, state=ACCEPTED, applied_at=now,
                                  decided_at=now) for v in batch)
        if bind_prefix:
            db.session.add_all(Binding(account="demo", openid=f"{bind_prefix}{v.number}", volunteer_id=v.id,
                                       bound_at=now) for v in batch)
        db.session.commit()
        db.session.expunge_all()
    return project_id

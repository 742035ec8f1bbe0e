"""Volunteers and signed-in browsers for tests."""

from __future__ import annotations

import itertools
from datetime import date

from stdnum.cn import ric

_seq = itertools.count(1)


def id_number(birth: str = "19900101", region: str = "320602", male: bool = True) -> str:
    """A valid mainland ID number (real check digit) that no other test uses."""
    n = next(_seq)
    serial = f"{(n * 2) % 1000:03d}"
    serial = serial[:2] + str((int(serial[2]) // 2) * 2 + (1 if male else 0))
    base = region + birth + serial
    return base + ric.calc_check_digit(base + "0")


def phone() -> str:
    return f"139{next(_seq):08d}"


def make_volunteer(name: str = "张亚林", password: str = "secret123", number: str | None = None, **fields):
    """A volunteer row, committed (call inside an app context)."""
    from models import Volunteer, db, volunteer_qr
    from models.accounts import volunteer_number

    volunteer = Volunteer(number=number or volunteer_number("3206"), name=name, gender=fields.pop("gender", "M"),
                          birth_date=fields.pop("birth_date", date(1990, 1, 1)), id_type="mainland_id",
                          qr_token=volunteer_qr.new_token(), **fields)
    volunteer.set_id_number(fields.get("id_number") or id_number())
    volunteer.set_phone(phone())
    volunteer.set_password(password)
    db.session.add(volunteer)
    db.session.commit()
    return volunteer


def bind(volunteer, openid: str, account: str = "demo") -> None:
    from models import Binding, db, utcnow

    db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id, bound_at=utcnow()))
    db.session.commit()


def sign_in(client, openid: str, account: str = "demo"):
    """The browser session OAuth would have made."""
    with client.session_transaction() as session:
        openids = dict(session.get("openids") or {})
        openids[account] = openid
        session["openids"] = openids
        session["account"] = account
    return client


def csrf_token(client, path: str) -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)

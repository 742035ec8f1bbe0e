"""一喊就来 fixtures: a station (和平桥街道) under its 上级 (崇川区), paired volunteers, an approved seeker."""

from __future__ import annotations

from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.people import id_number

SEEKER_FIELDS = {"name": "王秀英", "address": "南通市崇川区和平桥街道桃坞路18号", "phone": "0513-85123456",
                 "mobile": "13851300001", "emergency_name": "王建国", "emergency_phone": "13851300002",
                 "notes": "独居老人，腿脚不便"}


def seeker_fields(**changes) -> dict:
    """An elder of 崇川区 born in 1944 (her card carries 320602, a code from 1983)."""
    fields = dict(SEEKER_FIELDS, id_number=id_number("19440315", region="320602", male=False))
    fields.update(changes)
    return fields


def seeker_typed(form: dict, *, partial: bool = False) -> dict:
    """A seeker form's values as the pages hand them to the model: parsed by the form's field spec."""
    from wx_service.pages.fields import parse
    from wx_service.pages.help_admin import SEEKER_FORM

    return parse(SEEKER_FORM, form, partial=partial)


def build_help(n_volunteers: int = 3, *, account: str = "demo", seeker_openid: str | None = "o_elder",
               volunteer_openids: bool = True, approve: bool = True, now=NOW) -> dict:
    """The org tree, ``n_volunteers`` paired volunteers (bound on ``account`` as ``o_pair_<i>``), a seeker
    registered by the street admin and approved by the district admin, bound to ``seeker_openid``.

    Call inside an app context; commits.  Returns plain ids (safe to use after the context closes).
    """
    from models import db
    from models import help_seeker as hs

    orgs, admins = build_tree(now)
    volunteers = [make_volunteer(f"结对{i}号", account=account if volunteer_openids else None,
                                 openid=f"o_pair_{i}" if volunteer_openids else None) for i in range(n_volunteers)]
    fields = seeker_fields()
    seeker = hs.add_seeker(admins["street"], seeker_typed(fields), ",".join(v.number for v in volunteers), now=now)
    if approve:
        hs.review_seeker(admins["district"], seeker.id, True, now=now)
    if seeker_openid:
        db.session.add(hs.SeekerBinding(account=account, openid=seeker_openid, seeker_id=seeker.id, bound_at=now))
    db.session.commit()
    return {"seeker": seeker.id, "id_number": fields["id_number"], "volunteers": [v.id for v in volunteers],
            "numbers": [v.number for v in volunteers], "orgs": {k: o.id for k, o in orgs.items()},
            "admins": {k: a.id for k, a in admins.items()},
            "admin_numbers": {k: a.number for k, a in admins.items()}}

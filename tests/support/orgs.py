"""Volunteers, bindings and a small org tree for the organization tests."""

from __future__ import annotations

import functools
from datetime import datetime

NOW = datetime(2026, 3, 1, 2, 0, 0)  # 10:00 in Asia/Shanghai


@functools.cache
def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash("initial-pw", method="pbkdf2:sha256:1000")


def make_volunteer(name: str | None = None, *, account: str | None = None, openid: str | None = None):
    """A Nantong resident's volunteer row (and a binding when ``account``/``openid`` are given), flushed."""
    from models import Binding, db
    from tests.support.people import new_volunteer

    volunteer = new_volunteer(name, password_hash=_password_hash())  # set_password's scrypt is slow for hundreds
    db.session.add(volunteer)
    db.session.flush()
    if account and openid:
        db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id))
        db.session.flush()
    return volunteer


FIELDS = {"org_type": "民间公益", "region": "崇川区", "service_domains": ["社区服务"]}


def org_typed(form: dict, *, partial: bool = False) -> dict:
    """An org form's values as the pages hand them to the model: parsed by the form's field spec."""
    from wx_service.pages.fields import parse
    from wx_service.pages.orgs import ORG_FORM

    return parse(ORG_FORM, form, partial=partial)


def build_tree(now=NOW):
    """root ─ district ─ street ─ community, plus a sibling district and a sibling street.

    Returns a dict of orgs and of their admins (one each).  All orgs active.
    """
    from models import db
    from models.org_rules import add_admin, create_root, found_suborg

    admins = {key: make_volunteer(f"管理员{key}") for key in
              ("root", "district", "street", "community", "sibling_district", "sibling_street")}
    root = create_root("江海志愿者服务总站", admins["root"], now=now)
    district = found_suborg(admins["root"], root.id, {**FIELDS, "name": "崇川区志愿者协会"}, now=now)
    sibling_district = found_suborg(admins["root"], root.id, {**FIELDS, "name": "海门区志愿者协会",
                                                              "region": "海门区"}, now=now)
    street = found_suborg(admins["root"], district.id, {**FIELDS, "name": "和平桥街道志愿服务支队"}, now=now)
    sibling_street = found_suborg(admins["root"], district.id, {**FIELDS, "name": "城东街道志愿服务支队"}, now=now)
    community = found_suborg(admins["root"], street.id, {**FIELDS, "name": "百花社区志愿服务队"}, now=now)
    orgs = {"root": root, "district": district, "street": street, "community": community,
            "sibling_district": sibling_district, "sibling_street": sibling_street}
    for key, org in orgs.items():
        if key != "root":
            add_admin(admins["root"], org.id, admins[key].number, now=now)
    db.session.flush()
    return orgs, admins


def bind_admins(admins: dict, account: str = "demo") -> None:
    """Each admin of ``build_tree`` bound to ``account`` as ``o-<key>`` (``o-root``, ``o-street`` …), flushed."""
    from models import Binding, db

    for key, admin in admins.items():
        db.session.add(Binding(account=account, openid=f"o-{key}", volunteer_id=admin.id))
    db.session.flush()

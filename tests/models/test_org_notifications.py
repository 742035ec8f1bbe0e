"""Organization decisions reach the people they concern through the outbox."""

from models import Notification, db
from models.membership import approve_members, join_org, reject_members
from models.org_rules import edit_org, register_org, review_change, review_org
from tests.support.orgs import FIELDS, NOW, build_tree, make_volunteer


def test_join_decisions_notify_each_applicant(any_app):
    with any_app.app.app_context():
        orgs, admins = build_tree()
        a, b = make_volunteer("甲"), make_volunteer("乙")
        for v in (a, b):
            join_org(v, orgs["street"].id, now=NOW)
        approve_members(admins["street"], orgs["street"].id, [a.id], now=NOW)
        reject_members(admins["street"], orgs["street"].id, [b.id], now=NOW)
        db.session.commit()
        rows = {n.volunteer_id: n for n in Notification.query.filter_by(kind="join_result")}
        assert rows[a.id].data["result"] == "通过" and rows[b.id].data["result"] == "未通过"
        assert rows[a.id].data["org"] == orgs["street"].name


def test_org_review_and_change_review_notify_the_org_admins(any_app):
    with any_app.app.app_context():
        orgs, admins = build_tree()
        founder = make_volunteer("创办人")
        pending = register_org(founder, orgs["street"].id, {**FIELDS, "name": "新社区志愿服务队"}, now=NOW)
        review_org(admins["street"], pending.id, True, now=NOW)
        change = edit_org(founder, pending.id, {"name": "新社区志愿服务总队"}, now=NOW)
        review_change(admins["street"], change.id, False, now=NOW)
        db.session.commit()
        results = [n.data["reason"] for n in Notification.query.filter_by(kind="org_review_result",
                                                                            volunteer_id=founder.id)
                   .order_by(Notification.id)]
        assert results == ["组织已通过审核", "组织信息变更未通过"]

"""Organization rules as unit tests (injected ``now``), the subtree query, the 5-org limit race,
member groups, and the admin tag job against the sandbox's recorded tagging calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select, text

from models import Binding, Membership, Organization, Volunteer, db
from models import membership as ms
from models import organization as orgs_mod
from models.membership import (
    add_to_group,
    approve_members,
    builtin_group_ids,
    copy_group_members,
    create_group,
    delete_group,
    group_member_ids,
    join_org,
    leave_org,
    member_list,
    members_in_subtree,
    reject_members,
    remove_from_group,
    remove_members,
)
from models.org_rules import (
    add_admin,
    create_root,
    deregister_org,
    edit_org,
    found_suborg,
    register_org,
    remove_admin,
    reset_admin_password,
    review_change,
    review_org,
)
from models.organization import admin_org_of, search_orgs, suborgs, subtree_of
from tests.support.orgs import FIELDS, NOW, build_tree, make_volunteer, org_typed
from tests.support.rules import at_once, code_of


def member_of(org, admin):
    volunteer = make_volunteer()
    join_org(volunteer, org.id, now=NOW)
    approve_members(admin, org.id, [volunteer.id], now=NOW)
    return volunteer


# ----------------------------------------------------------------------------------- the tree
def test_root_and_paths(tree):
    orgs, admins = tree
    root, district, street, community = orgs["root"], orgs["district"], orgs["street"], orgs["community"]
    assert (root.level, root.path, root.status) == (1, f"/{root.id}/", "active")
    assert community.path == f"/{root.id}/{district.id}/{street.id}/{community.id}/"
    assert community.level == 4 and community.ancestor_ids == [root.id, district.id, street.id, community.id]
    assert admin_org_of(admins["root"].id).id == root.id
    assert code_of(create_root, "另一个总站", make_volunteer(), now=NOW) == "root_exists"


def test_subtree_is_one_prefix_query(tree):
    orgs, _ = tree
    below = {o.name for o in Organization.query.filter(subtree_of(orgs["district"]))}
    assert below == {"崇川区志愿者协会", "和平桥街道志愿服务支队", "城东街道志愿服务支队", "百花社区志愿服务队"}
    assert {o.id for o in suborgs(orgs["district"])} == {orgs["street"].id, orgs["sibling_street"].id,
                                                         orgs["community"].id}


def test_members_in_subtree(tree):
    orgs, admins = tree
    a = member_of(orgs["community"], admins["community"])
    b = member_of(orgs["sibling_street"], admins["sibling_street"])
    member_of(orgs["sibling_district"], admins["sibling_district"])
    rows = db.session.scalars(members_in_subtree(orgs["district"])).all()
    assert sorted(m.volunteer_id for m in rows) == sorted([a.id, b.id])


def test_subtree_query_uses_the_path_index_on_postgresql(app_pg):
    with app_pg.app.app_context():
        orgs, _ = build_tree()
        db.session.commit()
        sql = select(Organization.id).where(subtree_of(orgs["district"])).compile(
            db.engine, compile_kwargs={"literal_binds": True})
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in db.session.execute(text(f"EXPLAIN {sql}")))
        db.session.rollback()
    assert "ix_organization_path" in plan, plan


def test_level_five_is_the_bottom(tree):
    orgs, admins = tree
    level5 = found_suborg(admins["root"], orgs["community"].id, {**FIELDS, "name": "百花一组"}, now=NOW)
    assert level5.level == 5
    assert code_of(found_suborg, admins["root"], level5.id, {**FIELDS, "name": "六级"}, now=NOW) == "too_deep"
    assert code_of(register_org, make_volunteer(), level5.id, {**FIELDS, "name": "六级"}, now=NOW) == "too_deep"


# ---------------------------------------------------------------------- registration, review
def test_register_review_and_reregister(tree):
    orgs, admins = tree
    applicant = make_volunteer("申请人")
    org = register_org(applicant, orgs["street"].id, {**FIELDS, "name": "和平桥青年志愿队",
                                                      "intro": "青年志愿者"}, now=NOW)
    assert (org.status, org.level, org.parent_id) == ("pending", 4, orgs["street"].id)
    assert admin_org_of(applicant.id).id == org.id
    # a second org by the same volunteer: one org per admin
    assert code_of(register_org, applicant, orgs["street"].id, {**FIELDS, "name": "再来一个"}, now=NOW) == \
        "already_admin"
    # an admin of another org may not register one either
    assert code_of(register_org, admins["street"], orgs["street"].id, {**FIELDS, "name": "X队"}, now=NOW) == \
        "already_admin"
    # not approved yet: nobody may join, its admin has no power
    assert code_of(join_org, make_volunteer(), org.id, now=NOW) == "org_not_open"
    # a sibling's admin may not decide; the parent's may, once
    assert code_of(review_org, admins["sibling_street"], org.id, True, now=NOW) == "forbidden"
    assert code_of(review_org, applicant, org.id, True, now=NOW) == "forbidden"
    review_org(admins["street"], org.id, False, now=NOW)
    assert org.status == "rejected" and admin_org_of(applicant.id) is None
    assert code_of(review_org, admins["district"], org.id, True, now=NOW) == "org_not_pending"
    # rejected: the name is free again and the applicant may register anew; the grandparent approves
    again = register_org(applicant, orgs["street"].id, {**FIELDS, "name": "和平桥青年志愿队"}, now=NOW)
    review_org(admins["district"], again.id, True, now=NOW + timedelta(hours=1))
    assert again.status == "active" and again.reviewed_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(("fields", "code"), [
    ({"org_type": "协会"}, "org_type_invalid"),
    ({"region": "苏州市"}, "org_region_invalid"),
    ({"name": "X"}, "org_name_invalid"),
    ({"service_domains": ["养猫"]}, "org_domain_invalid"),
    ({"latitude": "abc"}, "org_point_invalid"),
    ({"name": "崇川区志愿者协会"}, "org_name_taken"),
])
def test_register_checks_fields(tree, fields, code):
    orgs, _ = tree
    assert code_of(lambda: register_org(make_volunteer(), orgs["root"].id, org_typed({**FIELDS, "name": "新组织", **fields}),
                                        now=NOW)) == code


def test_register_under_a_pending_parent_is_refused(tree):
    orgs, admins = tree
    deregister_org(admins["district"], orgs["street"].id, now=NOW)
    assert code_of(register_org, make_volunteer(), orgs["street"].id, {**FIELDS, "name": "新队"}, now=NOW) == \
        "parent_not_active"


# ------------------------------------------------------------------------------ changes
def test_own_admin_change_waits_for_review(tree):
    orgs, admins = tree
    street = orgs["street"]
    change = edit_org(admins["street"], street.id, {"name": "和平桥街道新时代文明实践志愿服务支队",
                                                    "intro": "新简介", "region": "崇川区"}, now=NOW)
    assert street.name == "和平桥街道志愿服务支队"  # old name in force
    assert street.intro == "新简介"  # free field applies at once
    assert change.changes == {"name": "和平桥街道新时代文明实践志愿服务支队"}  # unchanged region dropped
    assert change.previous == {"name": "和平桥街道志愿服务支队"}
    # a second edit merges into the waiting change
    edit_org(admins["street"], street.id, {"address": "和平路1号"}, now=NOW)
    assert orgs_mod.pending_change_of(street.id).changes == {
        "name": "和平桥街道新时代文明实践志愿服务支队", "address": "和平路1号"}
    assert code_of(review_change, admins["street"], change.id, True, now=NOW) == "forbidden"
    assert code_of(review_change, admins["sibling_street"], change.id, True, now=NOW) == "forbidden"
    review_change(admins["district"], change.id, True, now=NOW)
    assert street.name == "和平桥街道新时代文明实践志愿服务支队" and street.address == "和平路1号"
    assert code_of(review_change, admins["root"], change.id, True, now=NOW) == "change_not_pending"


def test_rejected_change_leaves_old_values(tree):
    orgs, admins = tree
    change = edit_org(admins["street"], orgs["street"].id, {"org_type": "企业"}, now=NOW)
    review_change(admins["root"], change.id, False, now=NOW)
    assert orgs["street"].org_type == "民间公益" and change.state == "rejected"


def test_superior_edits_a_suborg_directly(tree):
    orgs, admins = tree
    assert edit_org(admins["district"], orgs["street"].id, {"name": "和平桥支队"}, now=NOW) is None
    assert orgs["street"].name == "和平桥支队"
    assert code_of(edit_org, admins["sibling_street"], orgs["street"].id, {"intro": "x"}, now=NOW) == "forbidden"
    assert code_of(edit_org, admins["street"], orgs["district"].id, {"intro": "x"}, now=NOW) == "forbidden"


def test_root_admin_edits_root_directly(tree):
    orgs, admins = tree
    assert edit_org(admins["root"], orgs["root"].id, {"name": "江海志愿总站"}, now=NOW) is None
    assert orgs["root"].name == "江海志愿总站"


# -------------------------------------------------------------------------- superior powers
def test_add_remove_admins_and_reset_password(tree):
    orgs, admins = tree
    newcomer = make_volunteer("新管理员")
    add_admin(admins["district"], orgs["street"].id, newcomer.number, now=NOW)
    assert {v.id for v in orgs["street"].admins} == {admins["street"].id, newcomer.id}
    assert code_of(add_admin, admins["district"], orgs["community"].id, newcomer.number, now=NOW) == \
        "already_admin"
    assert code_of(add_admin, admins["street"], orgs["street"].id, make_volunteer().number, now=NOW) == \
        "forbidden"
    assert code_of(add_admin, admins["district"], orgs["street"].id, "000", now=NOW) == "volunteer_not_found"
    first = reset_admin_password(admins["root"], orgs["street"].id, newcomer.id, now=NOW)
    second = reset_admin_password(admins["root"], orgs["street"].id, newcomer.id, now=NOW)
    assert first != second and len(second) == 10
    assert newcomer.check_password(second) and not newcomer.check_password(first)
    assert newcomer.password_must_change is True
    assert code_of(reset_admin_password, admins["root"], orgs["street"].id, admins["community"].id, now=NOW) == \
        "not_admin"
    assert code_of(reset_admin_password, admins["sibling_street"], orgs["street"].id, newcomer.id, now=NOW) == \
        "forbidden"
    remove_admin(admins["district"], orgs["street"].id, newcomer.id, now=NOW)
    assert admin_org_of(newcomer.id) is None
    assert code_of(remove_admin, admins["district"], orgs["street"].id, newcomer.id, now=NOW) == "not_admin"


def test_deregister_returns_to_pending_and_back(tree):
    orgs, admins = tree
    street = orgs["street"]
    deregister_org(admins["district"], street.id, now=NOW)
    assert street.status == "pending" and db.session.get(Organization, street.id) is not None
    assert street.deregistered_at == NOW
    assert street.id in {o.id for o in suborgs(orgs["district"], status="pending")}
    assert street.id not in {o.id for o in search_orgs().items}
    assert code_of(deregister_org, admins["district"], street.id, now=NOW) == "org_not_active"
    review_org(admins["district"], street.id, True, now=NOW)
    assert street.status == "active" and admin_org_of(admins["street"].id).id == street.id


# -------------------------------------------------------------------------------- 找组织
def test_search_filters(tree):
    orgs, admins = tree
    edit_org(admins["root"], orgs["sibling_district"].id, {"service_domains": ["助老助残", "文化教育"]}, now=NOW)
    names = lambda **kw: {o.name for o in search_orgs(**kw).items}  # noqa: E731
    assert names(region="海门区") == {"海门区志愿者协会"}
    assert names(domain="助老助残") == {"海门区志愿者协会"}
    assert names(level=3) == {"和平桥街道志愿服务支队", "城东街道志愿服务支队"}
    assert names(keyword="街道") == {"和平桥街道志愿服务支队", "城东街道志愿服务支队"}
    assert names(keyword="%") == set()
    assert names(org_type="学校") == set()
    page = search_orgs(per_page=2, page=2)
    assert page.total == 6 and len(page.items) == 2 and page.pages == 3


# ------------------------------------------------------------------------------ membership
def test_join_approve_reject_and_limit(tree):
    orgs, admins = tree
    volunteer = make_volunteer()
    keys = ["root", "district", "street", "community", "sibling_district"]
    for key in keys:
        join_org(volunteer, orgs[key].id, now=NOW)
    assert code_of(join_org, volunteer, orgs["street"].id, now=NOW) == "already_applied"
    # five pending applications: a sixth is refused
    assert code_of(join_org, volunteer, orgs["sibling_street"].id, now=NOW) == "too_many_orgs"
    assert code_of(approve_members, admins["sibling_street"], orgs["street"].id, [volunteer.id], now=NOW) == \
        "forbidden"
    assert approve_members(admins["street"], orgs["street"].id, [volunteer.id], now=NOW) == 1
    assert code_of(approve_members, admins["street"], orgs["street"].id, [volunteer.id], now=NOW) == \
        "nothing_pending"
    assert code_of(join_org, volunteer, orgs["street"].id, now=NOW) == "already_member"
    # a rejection gives the slot back
    reject_members(admins["district"], orgs["community"].id, [volunteer.id], now=NOW)
    join_org(volunteer, orgs["sibling_street"].id, now=NOW)
    # and the rejected org may be applied to again once a slot is free
    leave_org(volunteer, orgs["root"].id, now=NOW)  # withdraws a pending application
    again = join_org(volunteer, orgs["community"].id, now=NOW)
    assert again.state == "pending" and again.decided_at is None
    assert db.session.scalar(select(db.func.count()).select_from(Membership).where(
        Membership.volunteer_id == volunteer.id, Membership.slot.is_not(None))) == 5


def test_batch_approve_reject_and_search(tree):
    orgs, admins = tree
    people = [make_volunteer(name) for name in ("张三", "李四", "王五", "赵六")]
    for person in people:
        join_org(person, orgs["street"].id, now=NOW)
    assert approve_members(admins["district"], orgs["street"].id, [p.id for p in people[:3]], now=NOW) == 3
    assert reject_members(admins["street"], orgs["street"].id, [people[3].id, people[0].id], now=NOW) == 1
    approved = member_list(orgs["street"].id, state="approved")
    assert approved.total == 3
    assert [m.volunteer.name for m in member_list(orgs["street"].id, keyword="李").items] == ["李四"]
    assert [m.volunteer.name for m in member_list(orgs["street"].id, keyword=people[2].phone).items] == ["王五"]
    assert [m.volunteer.name for m in member_list(orgs["street"].id, keyword=people[1].number).items] == ["李四"]
    assert member_list(orgs["street"].id, state="pending").total == 0


def test_leave_keeps_one_org(tree):
    orgs, admins = tree
    volunteer = member_of(orgs["street"], admins["street"])
    assert code_of(leave_org, volunteer, orgs["street"].id, now=NOW) == "last_org"
    join_org(volunteer, orgs["community"].id, now=NOW)
    # a pending application does not count as being in an org
    assert code_of(leave_org, volunteer, orgs["street"].id, now=NOW) == "last_org"
    approve_members(admins["community"], orgs["community"].id, [volunteer.id], now=NOW)
    membership = leave_org(volunteer, orgs["street"].id, now=NOW)
    assert membership.state == "left" and membership.slot is None and membership.ended_at == NOW
    assert code_of(leave_org, volunteer, orgs["street"].id, now=NOW) == "not_member"


def test_remove_members_batch(tree):
    orgs, admins = tree
    people = [member_of(orgs["street"], admins["street"]) for _ in range(3)]
    group = create_group(admins["street"], orgs["street"].id, "急救小组", now=NOW)
    add_to_group(admins["street"], group.id, [p.id for p in people], now=NOW)
    assert code_of(remove_members, admins["sibling_street"], orgs["street"].id, [people[0].id], now=NOW) == \
        "forbidden"
    assert remove_members(admins["root"], orgs["street"].id, [p.id for p in people[:2]], now=NOW) == 2
    assert ms.member_ids(orgs["street"].id) == [people[2].id]
    assert group_member_ids(admins["street"], orgs["street"].id, group.id, now=NOW) == [people[2].id]
    assert code_of(remove_members, admins["street"], orgs["street"].id, [people[0].id], now=NOW) == "not_member"


def test_join_limit_race_on_postgresql(app_pg):
    """Six applications at once for a volunteer already in three orgs: exactly two get in."""
    app = app_pg.app
    with app.app_context():
        orgs, admins = build_tree()
        extra = [found_suborg(admins["root"], orgs["root"].id, {**FIELDS, "name": f"组织{i}"}, now=NOW)
                 for i in range(3)]
        volunteer = make_volunteer()
        for key in ("root", "district", "street"):
            join_org(volunteer, orgs[key].id, now=NOW)
        targets = [orgs["community"].id, orgs["sibling_district"].id, orgs["sibling_street"].id,
                   *[o.id for o in extra]]
        volunteer_id = volunteer.id
        db.session.commit()

    def apply(org_id):
        join_org(db.session.get(Volunteer, volunteer_id), org_id, now=NOW)

    outcomes = at_once(app, *(partial(apply, org_id) for org_id in targets), ok="joined")
    assert sorted(outcomes) == ["joined"] * 2 + ["too_many_orgs"] * 4
    with app.app_context():
        slots = db.session.scalars(select(Membership.slot).where(
            Membership.volunteer_id == volunteer_id, Membership.state == "pending")).all()
        assert sorted(slots) == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------------------------- groups
def test_custom_groups(tree):
    orgs, admins = tree
    org_id = orgs["street"].id
    people = [member_of(orgs["street"], admins["street"]) for _ in range(3)]
    outsider = make_volunteer()
    a = create_group(admins["street"], org_id, "急救小组", now=NOW)
    b = create_group(admins["street"], org_id, "周末小组", now=NOW)
    assert code_of(create_group, admins["street"], org_id, "急救小组", now=NOW) == "group_name_taken"
    assert code_of(create_group, admins["street"], org_id, "活跃成员", now=NOW) == "group_name_taken"
    assert code_of(create_group, admins["sibling_street"], org_id, "别人的组", now=NOW) == "forbidden"
    assert add_to_group(admins["street"], a.id, [people[0].id, people[1].id], now=NOW) == 2
    assert add_to_group(admins["street"], a.id, [people[0].id], now=NOW) == 0
    assert code_of(add_to_group, admins["street"], a.id, [outsider.id], now=NOW) == "not_member"
    assert copy_group_members(admins["street"], org_id, a.id, b.id, now=NOW) == 2
    assert remove_from_group(admins["street"], a.id, [people[0].id], now=NOW) == 1
    assert group_member_ids(admins["street"], org_id, a.id, now=NOW) == [people[1].id]
    assert group_member_ids(admins["street"], org_id, b.id, now=NOW) == sorted([people[0].id, people[1].id])
    summary = ms.groups_of(admins["street"], org_id, now=NOW)
    assert [(g.name, n) for g, n in summary["custom"]] == [("急救小组", 1), ("周末小组", 2)]
    delete_group(admins["street"], a.id, now=NOW)
    assert [g.name for g, _ in ms.groups_of(admins["street"], org_id, now=NOW)["custom"]] == ["周末小组"]
    # copy a built-in group (no hours recorded yet: everyone is in 历史无时长成员)
    c = create_group(admins["street"], org_id, "待激活", now=NOW)
    assert copy_group_members(admins["street"], org_id, "no_hours_ever", c.id, now=NOW) == 3


def test_builtin_groups_follow_hours(tree, monkeypatch):
    orgs, admins = tree
    org_id = orgs["street"].id
    old, recent, none = (member_of(orgs["street"], admins["street"]) for _ in range(3))
    # 2026-01-01 00:30 in Shanghai is still 2025 in UTC: the year is the local one
    now = datetime(2026, 1, 10, 2, 0)
    year_start_utc = datetime(2025, 12, 31, 16, 0)  # 2026-01-01 00:00 in Shanghai

    def hours(org, since):
        records = {old.id: datetime(2025, 6, 1), recent.id: datetime(2025, 12, 31, 16, 30)}
        return {v: 2.0 for v, at in records.items() if since is None or at >= since}

    monkeypatch.setattr(ms, "hours_by_volunteer", hours)
    assert builtin_group_ids(org_id, "no_hours_ever", now=now) == [none.id]
    assert sorted(builtin_group_ids(org_id, "no_hours_this_year", now=now)) == sorted([old.id, none.id])
    assert builtin_group_ids(org_id, "active", now=now) == [recent.id]
    assert old.id not in builtin_group_ids(org_id, "active", now=year_start_utc + timedelta(days=400))
    assert code_of(builtin_group_ids, org_id, "nope", now=now) == "group_not_found"


def test_hours_are_not_recorded_yet(ctx):
    assert ms.hours_by_volunteer(1, None) == {}


# ------------------------------------------------------------------------- admin tag job
def _tagged(handle, endpoint):
    calls = handle.sandbox.calls_to(f"cgi-bin/tags/members/{endpoint}")
    return sorted((c["appid"], openid) for c in calls for openid in c["body"]["openid_list"])


def test_admin_tag_follows_admin_power(any_app):
    handle = any_app
    sandbox = handle.sandbox
    accounts = handle.config["accounts"]
    with handle.app.app_context():
        orgs, admins = build_tree()
        person = make_volunteer("新管理员", account="demo", openid="o-demo-new")
        db.session.add(Binding(account="county", openid="o-county-new", volunteer_id=person.id))
        db.session.commit()
        sandbox.follow(accounts["demo"]["app_id"], "o-demo-new")
        sandbox.follow(accounts["county"]["app_id"], "o-county-new")
        handle.run_jobs()  # the tree's own admins have no bindings: nothing to tag
        assert _tagged(handle, "batchtagging") == []

        add_admin(admins["district"], orgs["street"].id, person.number, now=NOW)
        db.session.commit()
        handle.run_jobs()
        both = sorted([(accounts["demo"]["app_id"], "o-demo-new"), (accounts["county"]["app_id"], "o-county-new")])
        assert _tagged(handle, "batchtagging") == both
        tag_ids = {t for t in sandbox.users[accounts["demo"]["app_id"]]["o-demo-new"]["tagid_list"]}
        assert len(tag_ids) == 1

        # deregistering the org takes the power (and the tag) away
        deregister_org(admins["district"], orgs["street"].id, now=NOW)
        db.session.commit()
        handle.run_jobs()
        assert _tagged(handle, "batchuntagging") == both
        assert sandbox.users[accounts["demo"]["app_id"]]["o-demo-new"]["tagid_list"] == []

        # a rolled-back change enqueues nothing
        review_org(admins["district"], orgs["street"].id, True, now=NOW)
        db.session.rollback()
        handle.run_jobs()
        assert len(_tagged(handle, "batchtagging")) == 2

        # the job is idempotent: run again by hand, it tags nothing new
        from jobs.admin_tags import sync_admin_tag

        assert sync_admin_tag(person.id) is False
        assert sandbox.users[accounts["demo"]["app_id"]]["o-demo-new"]["tagid_list"] == []


def test_admin_tag_on_registration_review(app_lite):
    handle = app_lite
    appid = handle.config["accounts"]["demo"]["app_id"]
    with handle.app.app_context():
        orgs, admins = build_tree()
        applicant = make_volunteer(account="demo", openid="o-applicant")
        handle.sandbox.follow(appid, "o-applicant")
        org = register_org(applicant, orgs["street"].id, {**FIELDS, "name": "新队"}, now=NOW)
        db.session.commit()
        handle.run_jobs()
        assert _tagged(handle, "batchtagging") == []  # pending org: no admin menu yet (untag call only)
        review_org(admins["street"], org.id, True, now=NOW)
        db.session.commit()
        handle.run_jobs()
        assert _tagged(handle, "batchtagging") == [(appid, "o-applicant")]
        remove_admin(admins["street"], org.id, applicant.id, now=NOW)
        db.session.commit()
        handle.run_jobs()
        assert (appid, "o-applicant") in _tagged(handle, "batchuntagging")

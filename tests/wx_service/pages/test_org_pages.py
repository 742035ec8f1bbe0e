"""The organization pages through the Flask test client: a signed-in person, real forms with CSRF."""

from __future__ import annotations

import re
import threading

import pytest

from models import Membership, OrgAdmin, Organization, db
from models.membership import approve_members, join_org
from models.org_rules import found_suborg, register_org
from tests.support.orgs import FIELDS, NOW, bind_admins, build_tree, make_volunteer
from tests.support.people import csrf_token, sign_in, text
from tests.support.people import post_form as post


@pytest.fixture
def city(app_lite):
    """The tree, with each admin bound to the demo account as ``o-<key>``, and a bound volunteer."""
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        bind_admins(admins)
        person = make_volunteer("王小明", account="demo", openid="o-person")
        db.session.commit()
        ids = {key: org.id for key, org in orgs.items()}
        admin_ids = {key: v.id for key, v in admins.items()}
        person_id = person.id
    # no app context stays pushed: each request must get its own (its own ``g`` and session)
    return app_lite, ids, admin_ids, person_id


def test_unbound_person_is_told_to_bind(city):
    handle, ids, _, _ = city
    client = sign_in(handle.client(), "o-stranger")
    for path in ("/m/me/orgs", "/m/orgs/new", "/m/admin/members", "/m/admin/suborgs"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "请先绑定志愿者账号" in text(response) and "/m/bind?account=demo" in text(response)
    # the list and the detail are open to everyone; the detail offers binding instead of joining
    assert "崇川区志愿者协会" in text(client.get("/m/orgs"))
    detail = text(client.get(f"/m/orgs/{ids['street']}"))
    assert "绑定志愿者账号后申请加入" in detail and "申请加入</button>" not in detail


def test_signed_out_browser_goes_through_oauth(city):
    handle, _, _, _ = city
    response = handle.client().get("/m/orgs")
    assert response.status_code == 302 and "connect/oauth2/authorize" in response.location


def test_find_orgs_filters_and_pages(city):
    handle, ids, _, _ = city
    client = sign_in(handle.client(), "o-person")
    page = text(client.get("/m/orgs?region=海门区"))
    assert "海门区志愿者协会" in page and "崇川区志愿者协会" not in page
    page = text(client.get("/m/orgs?level=3&keyword=和平"))
    assert "和平桥街道志愿服务支队" in page and "城东街道" not in page
    with handle.app.app_context():
        for i in range(20):
            found_suborg(_root_admin(ids["root"]), ids["root"],
                         {**FIELDS, "name": f"测试组织{i:02d}"}, now=NOW)
        db.session.commit()
    first = text(client.get("/m/orgs"))
    assert "共 26 个组织" in first and "下一页" in first and "1 / 2" in first
    second = text(client.get("/m/orgs?page=2"))
    assert "上一页" in second and second.count('class="weui-media-box weui-media-box_appmsg org-item"') == 11


def _root_admin(root_id):
    from models import Volunteer

    return (Volunteer.query.join(OrgAdmin, OrgAdmin.volunteer_id == Volunteer.id)
            .filter(OrgAdmin.org_id == root_id).one())


def test_join_approve_and_see_it_in_my_orgs(city):
    handle, ids, _, person_id = city
    volunteer, admin = sign_in(handle.client(), "o-person"), sign_in(handle.client(), "o-street")
    detail = f"/m/orgs/{ids['street']}"
    response = post(volunteer, f"/m/orgs/{ids['street']}/join", {}, page=detail)
    assert response.status_code == 302
    page = text(volunteer.get(detail))
    assert "已提交申请" in page and "撤回申请" in page
    assert "待审核" in text(volunteer.get("/m/me/orgs"))

    pending = text(admin.get("/m/admin/members?tab=pending"))
    assert "王*明" in pending and "王小明" not in pending and "139****" in pending
    profile = text(admin.get(f"/m/admin/members/{person_id}"))
    assert "王*明" in profile and "3206" in profile and "**" in profile and "王小明" not in profile
    response = post(admin, "/m/admin/members", {"org_id": ids["street"], "action": "approve", "vid": [person_id]},
                    page="/m/admin/members?tab=pending")
    assert response.status_code == 302, text(response)
    assert "已审核通过 1 人" in text(admin.get(response.location))
    mine = text(volunteer.get("/m/me/orgs"))
    assert "和平桥街道志愿服务支队" in mine and "已加入" in mine
    assert "退出组织" in text(volunteer.get(detail))
    # the only org: leaving is refused with the rule's message
    post(volunteer, f"/m/orgs/{ids['street']}/leave", {}, page=detail)
    assert "不能退出唯一的组织" in text(volunteer.get(detail))


def test_batch_reject_remove_and_search(city):
    handle, ids, _, _ = city
    with handle.app.app_context():
        people = [make_volunteer(name) for name in ("张三丰", "李四光", "王五常")]
        for p in people:
            join_org(p, ids["street"], now=NOW)
        db.session.commit()
        pids = [p.id for p in people]
    admin = sign_in(handle.client(), "o-district")  # the parent's admin manages the street's members too
    listing = f"/m/admin/members?org={ids['street']}&tab=pending"
    post(admin, "/m/admin/members", {"org_id": ids["street"], "action": "approve", "vid": pids[:2]}, page=listing)
    post(admin, "/m/admin/members", {"org_id": ids["street"], "action": "reject", "vid": pids[2:]}, page=listing)
    approved = text(admin.get(f"/m/admin/members?org={ids['street']}&tab=approved"))
    assert "张*丰" in approved and "李*光" in approved and "王*常" not in approved
    found = text(admin.get(f"/m/admin/members?org={ids['street']}&q=李"))
    assert "李*光" in found and "张*丰" not in found
    post(admin, "/m/admin/members", {"org_id": ids["street"], "action": "remove", "vid": pids[:2]}, page=listing)
    with handle.app.app_context():
        states = sorted(m.state for m in Membership.query.filter(Membership.volunteer_id.in_(pids)))
    assert states == ["rejected", "removed", "removed"]


def test_members_of_another_branch_are_out_of_reach(city):
    handle, ids, _, _ = city
    admin = sign_in(handle.client(), "o-sibling_street")
    assert admin.get(f"/m/admin/members?org={ids['street']}").status_code == 403
    token = csrf_token(admin, "/m/admin/members")
    admin.post("/m/admin/members", data={"csrf_token": token, "org_id": ids["street"], "action": "approve",
                                         "vid": ["1"]})
    assert "没有管理该组织的权限" in text(admin.get("/m/admin/members"))
    plain = sign_in(handle.client(), "o-person")
    assert plain.get("/m/admin/members").status_code == 403


def test_form_without_csrf_is_refused(city):
    handle, ids, _, _ = city
    client = sign_in(handle.client(), "o-person")
    assert client.post(f"/m/orgs/{ids['street']}/join").status_code == 400


def test_register_org_and_review_it(city):
    handle, ids, _, person_id = city
    applicant, parent_admin = sign_in(handle.client(), "o-person"), sign_in(handle.client(), "o-street")
    form = {"parent_id": ids["street"], "name": "和平桥青年志愿服务队", "org_type": "民间公益", "region": "崇川区",
            "service_domains": ["社区服务", "助老助残"], "intro": "青年志愿者", "latitude": "32.01",
            "longitude": "120.86"}
    bad = post(applicant, "/m/orgs/new", {**form, "org_type": "协会"})
    assert bad.status_code == 400 and "请选择组织类型" in text(bad) and "和平桥青年志愿服务队" in text(bad)
    response = post(applicant, "/m/orgs/new", form)
    assert response.status_code == 302 and response.location.endswith("/m/me/orgs")
    mine = text(applicant.get("/m/me/orgs"))
    assert "和平桥青年志愿服务队" in mine and "待审核" in mine
    assert "您已是" in text(applicant.get("/m/orgs/new"))
    with handle.app.app_context():
        org = Organization.query.filter_by(name="和平桥青年志愿服务队").one()
        assert org.service_domains == ["社区服务", "助老助残"] and org.latitude == 32.01
        org_id = org.id

    pending = text(parent_admin.get("/m/admin/suborgs?tab=pending"))
    assert "和平桥青年志愿服务队" in pending
    page = f"/m/admin/suborgs/{org_id}"
    post(parent_admin, f"{page}/review", {"decision": "approve"}, page=page)
    with handle.app.app_context():
        assert db.session.get(Organization, org_id).status == "active"
    assert "成员管理" in text(applicant.get("/m/me/orgs"))


def test_suborg_powers(city):
    handle, ids, admin_ids, person_id = city
    with handle.app.app_context():
        from models import Volunteer

        number = db.session.get(Volunteer, person_id).number
    district = sign_in(handle.client(), "o-district")
    page = f"/m/admin/suborgs/{ids['street']}"
    listing = text(district.get("/m/admin/suborgs"))
    assert "和平桥街道志愿服务支队" in listing and "百花社区志愿服务队" in listing and "海门区" not in listing
    assert "设置活动免审" in text(district.get(page))
    post(district, f"{page}/exempt", {"exempt": "1"}, page=page)
    assert "取消活动免审" in text(district.get(page))
    post(district, f"{page}/admin-add", {"number": number}, page=page)
    assert "王*明" in text(district.get(page))
    reset = post(district, f"{page}/reset-password", {"volunteer_id": person_id}, page=page)
    password = re.search(r"<strong>(\w+)</strong>", text(reset)).group(1)
    with handle.app.app_context():
        from models import Volunteer

        admin = db.session.get(Volunteer, person_id)
        assert admin.check_password(password) and admin.password_must_change
    post(district, f"{page}/admin-remove", {"volunteer_id": person_id}, page=page)
    post(district, f"{page}/edit", {"name": "和平桥支队", "org_type": "民间公益", "region": "崇川区",
                                    "has_domains": "1", "service_domains": ["环境保护"]}, page=page)
    post(district, f"{page}/deregister", {}, page=page)
    with handle.app.app_context():
        street = db.session.get(Organization, ids["street"])
        assert (street.name, street.service_domains, street.status) == ("和平桥支队", ["环境保护"], "pending")
        assert OrgAdmin.query.filter_by(volunteer_id=person_id).one_or_none() is None
    # the root (level 1) sees no 免审 button and is refused if it tries
    root = sign_in(handle.client(), "o-root")
    community = f"/m/admin/suborgs/{ids['community']}"
    assert "活动免审" not in text(root.get(community))
    post(root, f"{community}/exempt", {"exempt": "1"}, page=community)
    assert "没有管理该组织的权限" in text(root.get(community))
    # a street admin cannot open its parent
    street_admin = sign_in(handle.client(), "o-sibling_street")
    assert street_admin.get(f"/m/admin/suborgs/{ids['district']}").status_code == 403


def test_own_org_change_goes_to_review(city):
    handle, ids, _, _ = city
    own, parent = sign_in(handle.client(), "o-street"), sign_in(handle.client(), "o-district")
    post(own, "/m/admin/org", {"name": "和平桥街道新时代文明实践志愿服务支队", "org_type": "民间公益",
                               "region": "崇川区", "intro": "新简介"})
    page = text(own.get("/m/admin/org"))
    assert "待上级审核的变更" in page and "和平桥街道新时代文明实践志愿服务支队" in page
    assert "和平桥街道志愿服务支队" in text(own.get(f"/m/orgs/{ids['street']}"))
    changes = text(parent.get("/m/admin/suborgs?tab=changes"))
    change_id = re.search(r"/m/admin/changes/(\d+)/review", changes).group(1)
    post(parent, f"/m/admin/changes/{change_id}/review", {"decision": "approve"}, page="/m/admin/suborgs?tab=changes")
    assert "新时代文明实践" in text(own.get(f"/m/orgs/{ids['street']}"))


def test_join_limit_holds_under_concurrent_requests(app_pg):
    """Six join requests at once from a volunteer already in three orgs: two get through."""
    handle = app_pg
    with handle.app.app_context():
        orgs, admins = build_tree()
        extra = [found_suborg(admins["root"], orgs["root"].id, {**FIELDS, "name": f"组织{i}"}, now=NOW)
                 for i in range(3)]
        person = make_volunteer(account="demo", openid="o-racer")
        for key in ("root", "district", "street"):
            join_org(person, orgs[key].id, now=NOW)
        approve_members(admins["root"], orgs["root"].id, [person.id], now=NOW)
        targets = [orgs["community"].id, orgs["sibling_district"].id, orgs["sibling_street"].id,
                   *[o.id for o in extra]]
        db.session.commit()
        person_id = person.id
    clients = []
    for org_id in targets:
        client = sign_in(handle.client(), "o-racer")
        clients.append((client, org_id, csrf_token(client, f"/m/orgs/{org_id}")))
    barrier = threading.Barrier(len(clients))
    statuses = []

    def go(client, org_id, token):
        barrier.wait()
        statuses.append(client.post(f"/m/orgs/{org_id}/join", data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=go, args=c) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [302] * len(targets)
    with handle.app.app_context():
        live = Membership.query.filter(Membership.volunteer_id == person_id,
                                       Membership.state.in_(("pending", "approved"))).count()
    assert live == 5


def test_registration_shows_admin_tag_after_approval(city):
    """The page path ends in the same job: approving a registration tags the new admin."""
    handle, ids, admin_ids, person_id = city
    appid = handle.config["accounts"]["demo"]["app_id"]
    handle.sandbox.follow(appid, "o-person")
    with handle.app.app_context():
        from models import Volunteer

        org = register_org(db.session.get(Volunteer, person_id), ids["street"], {**FIELDS, "name": "新队"}, now=NOW)
        db.session.commit()
        org_id = org.id
    assert handle.drain_jobs()

    def tagged():
        return [o for c in handle.sandbox.calls_to("cgi-bin/tags/members/batchtagging")
                for o in c["body"]["openid_list"]]

    assert "o-person" not in tagged()  # a pending org's admin has no admin menu yet
    admin = sign_in(handle.client(), "o-street")
    page = f"/m/admin/suborgs/{org_id}"
    post(admin, f"{page}/review", {"decision": "approve"}, page=page)
    assert handle.drain_jobs()
    assert tagged().count("o-person") == 1


def test_showing_a_members_whole_phone_is_audited(city):
    from models import PhoneView, Volunteer

    handle, ids, admin_ids, person_id = city
    with handle.app.app_context():
        person = db.session.get(Volunteer, person_id)
        join_org(person, ids["street"], now=NOW)
        db.session.commit()
        whole = person.phone
    client = sign_in(handle.client(), "o-street")
    page = f"/m/admin/members/{person_id}?org={ids['street']}"
    assert whole not in text(client.get(page))
    shown = post(client, f"/m/admin/members/{person_id}/phone?org={ids['street']}", {}, page=page)
    assert shown.status_code == 200 and whole in text(shown)
    outsider = sign_in(handle.client(), "o-sibling_street")
    refused = outsider.post(f"/m/admin/members/{person_id}/phone?org={ids['street']}",
                            data={"csrf_token": csrf_token(outsider, "/m/me/profile")})
    assert refused.status_code == 403 and whole not in text(refused)
    with handle.app.app_context():
        [row] = PhoneView.query.all()
        assert (row.viewer_id, row.volunteer_id) == (admin_ids["street"], person_id)


def test_the_admin_uploads_a_logo_shown_on_the_org_page(city):
    import io

    from PIL import Image

    handle, ids, _, _ = city
    client = sign_in(handle.client(), "o-street")
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (7, 193, 96)).save(buffer, "PNG")
    buffer.seek(0)
    res = client.post("/m/admin/org", data={"csrf_token": csrf_token(client, "/m/admin/org"), "intro": "社区服务",
                                             "logo": (buffer, "logo.png")}, content_type="multipart/form-data")
    assert res.status_code == 302
    page = text(client.get(f"/m/orgs/{ids['street']}"))
    assert "org-logo" in page
    logo = client.get(f"/m/orgs/{ids['street']}/logo")
    assert logo.mimetype == "image/jpeg" and Image.open(io.BytesIO(logo.data)).size == (256, 256)
    bad = client.post("/m/admin/org", data={"csrf_token": csrf_token(client, "/m/admin/org"),
                                             "logo": (io.BytesIO(b"GIF89a..."), "x.gif")}, content_type="multipart/form-data")
    assert bad.status_code == 302
    assert "只支持JPG或PNG" in text(client.get("/m/admin/org"))


def test_member_groups_on_the_phone(city):
    from models import MemberGroup, Volunteer

    handle, ids, admin_ids, person_id = city
    with handle.app.app_context():
        person = db.session.get(Volunteer, person_id)
        join_org(person, ids["street"], now=NOW)
        approve_members(db.session.get(Volunteer, admin_ids["street"]), ids["street"], [person_id], now=NOW)
        db.session.commit()
        number = person.number
    client = sign_in(handle.client(), "o-street")
    page = text(client.get("/m/admin/groups"))
    assert "历史无时长成员" in page and "活跃成员" in page
    post(client, "/m/admin/groups", {"op": "create", "name": "周末服务队"})
    with handle.app.app_context():
        group_id = MemberGroup.query.filter_by(name="周末服务队").one().id
    post(client, f"/m/admin/groups/{group_id}/members", {"op": "add", "numbers": number}, page="/m/admin/groups")
    assert "王*明" in text(client.get(f"/m/admin/groups/{group_id}"))
    post(client, "/m/admin/groups", {"op": "create", "name": "骨干"})
    with handle.app.app_context():
        backbone = MemberGroup.query.filter_by(name="骨干").one().id
    post(client, "/m/admin/groups", {"op": "copy", "source": str(group_id), "target_id": str(backbone)})
    assert "王*明" in text(client.get(f"/m/admin/groups/{backbone}"))
    post(client, f"/m/admin/groups/{group_id}/members", {"op": "remove", "vid": str(person_id)}, page="/m/admin/groups")
    assert "王*明" not in text(client.get(f"/m/admin/groups/{group_id}"))
    post(client, "/m/admin/groups", {"op": "delete", "group_id": str(group_id)})
    assert "周末服务队" not in text(client.get("/m/admin/groups"))
    assert "王*明" in text(client.get("/m/admin/groups/no_hours_ever"))
    outsider = sign_in(handle.client(), "o-sibling_street")
    assert "王*明" not in text(outsider.get(f"/m/admin/groups/{backbone}"))

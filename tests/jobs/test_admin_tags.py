"""Every way of becoming or ceasing to be an org admin ends with the right WeChat tag on the right openid.

The tag is checked in the sandbox's per-user tag state (what ``tags/getidlist`` answers), on
PostgreSQL with the rq worker exactly as ``flask worker`` runs it — one process, one app context for
all its jobs — and on SQLite with in-process jobs.
"""

from __future__ import annotations

import threading

import pytest
from flask import current_app

import menus
from jobs.admin_tags import sync_openid_tag
from menus.sync import ADMIN_TAG
from models import Binding, Volunteer, db
from models import accounts as acc
from models.org_rules import add_admin, deregister_org, register_org, remove_admin, review_org
from tests.support.orgs import FIELDS, NOW, build_tree, make_volunteer

DEMO = "wxdemo0000000001"
COUNTY = "wxcounty00000001"
CAO = "320611195205120029"  # born 1952, card issued under 港闸区 (code since abolished)
JI = "320602198203150019"


class World:
    """The test's own sessions, beside the one long-lived app context a worker process keeps."""

    def __init__(self, handle):
        self.handle = handle
        self.cli = handle.app.test_cli_runner()

    def step(self):
        return self.handle.app.app_context()  # a fresh context: a fresh session, like a web request

    def run_jobs(self):
        backend = self.handle.app.extensions["wx_jobs"]
        if hasattr(backend, "drain"):
            assert backend.drain(10)
            return
        result = self.cli.invoke(args=["worker", "--burst"])  # in the worker's long-lived context
        assert result.exit_code == 0, result.output

    def admin_tag_id(self, appid):
        return next((i for i, name in self.handle.sandbox.tags[appid].items() if name == ADMIN_TAG), None)

    def tagged(self, openid, appid=DEMO) -> bool:
        user = self.handle.sandbox.users[appid].get(openid) or {}
        tag_id = self.admin_tag_id(appid)
        return tag_id is not None and tag_id in user.get("tagid_list", [])


@pytest.fixture
def world(any_app):
    with any_app.app.app_context():  # the worker process's context, kept for the whole test
        yield World(any_app)


def _follow(world, *openids, appid=DEMO):
    for openid in openids:
        world.handle.sandbox.follow(appid, openid)


def test_registration_then_approval_tags_the_new_admin(world):
    with world.step():
        orgs, admins = build_tree()
        db.session.commit()
        street_admin = admins["street"].id
        applicant = make_volunteer("陈桂芳", account="demo", openid="o-chen")
        _follow(world, "o-chen")
        org_id = register_org(applicant, orgs["street"].id, {**FIELDS, "name": "百花社区银龄志愿服务队"}, now=NOW).id
        db.session.commit()
    world.run_jobs()
    assert not world.tagged("o-chen"), "a pending org's admin has no admin menu yet"
    with world.step():
        review_org(db.session.get(Volunteer, street_admin), org_id, True, now=NOW)
        db.session.commit()
    world.run_jobs()
    assert world.tagged("o-chen")
    calls = world.handle.sandbox.calls_to("cgi-bin/tags/members/batchtagging")
    assert [c["body"]["openid_list"] for c in calls if c["errcode"] == 0] == [["o-chen"]]


def test_rejection_deregistration_and_reapproval(world):
    with world.step():
        orgs, admins = build_tree()
        applicant = make_volunteer("顾建华", account="demo", openid="o-gu")
        other = make_volunteer("施美兰", account="demo", openid="o-shi")
        _follow(world, "o-gu", "o-shi")
        street_admin, district_admin = admins["street"].id, admins["district"].id
        rejected = register_org(other, orgs["street"].id, {**FIELDS, "name": "城东老年协会服务队"}, now=NOW).id
        org_id = register_org(applicant, orgs["street"].id, {**FIELDS, "name": "和平桥助老服务队"}, now=NOW).id
        db.session.commit()
        review_org(db.session.get(Volunteer, street_admin), org_id, True, now=NOW)
        review_org(db.session.get(Volunteer, street_admin), rejected, False, now=NOW)
        db.session.commit()
    world.run_jobs()
    assert world.tagged("o-gu") and not world.tagged("o-shi")
    with world.step():  # 注销组织: back to pending, out of management
        deregister_org(db.session.get(Volunteer, district_admin), org_id, now=NOW)
        db.session.commit()
    world.run_jobs()
    assert not world.tagged("o-gu")
    with world.step():  # approved again
        review_org(db.session.get(Volunteer, street_admin), org_id, True, now=NOW)
        db.session.commit()
    world.run_jobs()
    assert world.tagged("o-gu")


def test_add_and_remove_admin_on_every_bound_account(world):
    with world.step():
        orgs, admins = build_tree()
        person = make_volunteer("陆志强", account="demo", openid="o-lu")
        db.session.add(Binding(account="county", openid="o-lu-county", volunteer_id=person.id))
        _follow(world, "o-lu")
        _follow(world, "o-lu-county", appid=COUNTY)
        district_admin, street_id = admins["district"].id, orgs["street"].id
        db.session.commit()
        add_admin(db.session.get(Volunteer, district_admin), street_id, person.number, now=NOW)
        db.session.commit()
        person_id = person.id
    world.run_jobs()
    assert world.tagged("o-lu") and world.tagged("o-lu-county", COUNTY)
    with world.step():
        remove_admin(db.session.get(Volunteer, district_admin), street_id, person_id, now=NOW)
        db.session.commit()
    world.run_jobs()
    assert not world.tagged("o-lu") and not world.tagged("o-lu-county", COUNTY)


def test_binding_a_new_wechat_moves_the_tag_and_unbinding_removes_it(world):
    with world.step():
        orgs, admins = build_tree()
        person = make_volunteer("曹玉珍", account="demo", openid="o-cao-old")
        person.set_id_number(CAO)
        _follow(world, "o-cao-old", "o-cao-new")
        add_admin(admins["district"], orgs["street"].id, person.number, now=NOW)
        db.session.commit()
    world.run_jobs()
    assert world.tagged("o-cao-old")
    with world.step():  # a new phone: 账号绑定 on it moves the binding (and the admin menu) there
        acc.bind("demo", "o-cao-new", CAO, "initial-pw", now=NOW,
                 store=current_app.extensions["wx_store"])
        db.session.commit()
    world.run_jobs()
    assert world.tagged("o-cao-new") and not world.tagged("o-cao-old")
    with world.step():  # 解除绑定: that WeChat is nobody's now
        acc.unbind("demo", "o-cao-new")
        db.session.commit()
        assert Binding.query.filter_by(openid="o-cao-new").count() == 0
    world.run_jobs()
    assert not world.tagged("o-cao-new")


def test_an_openid_taken_over_by_a_volunteer_loses_the_admin_tag(world):
    with world.step():
        orgs, admins = build_tree()
        admin = make_volunteer("季红梅", account="demo", openid="o-shared-phone")
        _follow(world, "o-shared-phone")
        add_admin(admins["district"], orgs["street"].id, admin.number, now=NOW)
        make_volunteer("季小军").set_id_number(JI)
        db.session.commit()
    world.run_jobs()
    assert world.tagged("o-shared-phone")
    with world.step():  # her son binds his own account on the same WeChat
        acc.bind("demo", "o-shared-phone", JI, "initial-pw", now=NOW,
                 store=current_app.extensions["wx_store"])
        db.session.commit()
    world.run_jobs()
    assert not world.tagged("o-shared-phone")


def test_init_root_tags_the_first_admin(world):
    with world.step():
        person = make_volunteer("吴国平", account="demo", openid="o-wu")
        _follow(world, "o-wu")
        number = person.number
        db.session.commit()
    result = world.cli.invoke(args=["orgs", "init-root", "--admin", number])
    assert result.exit_code == 0, result.output
    world.run_jobs()
    assert world.tagged("o-wu")


def test_the_sandbox_refuses_tag_calls_wechat_refuses(world):
    from wechatpy.exceptions import WeChatClientException

    from menus import ensure_tag, set_admin_tag

    _follow(world, "o-follows")
    world.handle.sandbox.follow(COUNTY, "o-county-only")
    client = current_app.extensions["wechat"].client("demo")
    tag_id = ensure_tag(client)
    for openid, errcode in (("o-never-followed", 40003), ("o-county-only", 49003)):
        with pytest.raises(WeChatClientException) as refused:
            set_admin_tag(client, [openid], True)
        assert refused.value.errcode == errcode
    with pytest.raises(WeChatClientException) as refused:
        client.post("tags/members/batchtagging", data={"openid_list": ["o-follows"], "tagid": tag_id + 1})
    assert refused.value.errcode == 45159
    world.handle.sandbox.unfollow(DEMO, "o-follows")
    with pytest.raises(WeChatClientException) as refused:
        set_admin_tag(client, ["o-follows"], False)
    assert refused.value.errcode == 40003


def test_two_syncs_of_one_openid_at_once_end_as_the_last_commit_says(app_pg, monkeypatch):
    """Two workers sync one openid's tag at once: one read "admin" and is slow to call WeChat, the admin is
    then removed and the other reads "not an admin".  They take turns on the openid's lock, so the stale
    tagging cannot land after the untagging (without the lock it does: the slow job's wait ends when the
    other is done)."""
    world = World(app_pg)
    with world.step():
        orgs, admins = build_tree()
        person = make_volunteer("唐秀英", account="demo", openid="o-tang")
        _follow(world, "o-tang")
        add_admin(admins["district"], orgs["street"].id, person.number, now=NOW)
        db.session.commit()
        district_admin, street_id, person_id = admins["district"].id, orgs["street"].id, person.id
    real = menus.set_admin_tag
    first_calling, second_done = threading.Event(), threading.Event()

    def set_admin_tag(client, openids, is_admin):
        if threading.current_thread().name == "first":
            first_calling.set()
            second_done.wait(1.5)  # WeChat slow to answer the first job
        return real(client, openids, is_admin)

    monkeypatch.setattr(menus, "set_admin_tag", set_admin_tag)
    results = {}

    def sync(name):
        with app_pg.app.app_context():
            results[name] = sync_openid_tag("demo", "o-tang")
        if name == "second":
            second_done.set()

    first = threading.Thread(target=sync, args=("first",), name="first")
    first.start()
    assert first_calling.wait(10)
    with world.step():
        remove_admin(db.session.get(Volunteer, district_admin), street_id, person_id, now=NOW)
        db.session.commit()
    second = threading.Thread(target=sync, args=("second",), name="second")
    second.start()
    first.join(20)
    second.join(20)
    assert results == {"first": True, "second": False}
    calls = [c["endpoint"].rsplit("/", 1)[1] for c in world.handle.sandbox.calls
             if c["endpoint"].startswith("cgi-bin/tags/members/") and c["errcode"] == 0]
    assert calls == ["batchtagging", "batchuntagging"]
    assert not world.tagged("o-tang")

"""Open redirect through ``next`` on admin forms: only same-site paths of the mobile pages are followed.

The 撤销审核 form of the review list carries ``next``; a link or page of an attacker's could post it
with ``next=//evil`` and send the admin, fresh from a trusted page, to a phishing copy of it.
"""

from __future__ import annotations

import pytest

from models import Binding, db, project_rules
from models import project as pr
from tests.support.orgs import NOW, build_tree
from tests.support.people import csrf_token, sign_in
from tests.support.projects import publish
from wx_service.pages.forms import is_our_page

HOSTILE = ["//evil.example/m/", "///evil.example", "/\\evil.example", "\\\\evil.example", "/m/\\..\\..\\evil",
           "https://evil.example/m/admin", "http:/m/x", "javascript:alert(1)", "/m/%5C%5Cevil", "/m/../../x",
           "/m/%2e%2e/%2e%2e//evil", "/\t/evil.example", "/m/\nSet-Cookie:x=1", "/m/\x00", " /m/admin/reviews",
           "m/admin/reviews", "/admin/reviews", "", "/m/%0d%0aLocation:%20//evil"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_next_values_are_not_ours(value):
    assert not is_our_page(value)


@pytest.mark.parametrize("value", ["/m/admin/reviews?tab=approved", "/m/", "/m/projects/12?account=demo#c"])
def test_our_pages_are(value):
    assert is_our_page(value)


@pytest.fixture
def approved_project(app_lite):
    with app_lite.app.app_context():
        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o-district-next", volunteer_id=admins["district"].id))
        project = publish(admins["street"], name="濠河清洁志愿服务")
        project_rules.review_project(admins["district"], project.id, now=NOW)
        db.session.commit()
        project_id = project.id
    yield app_lite, project_id


@pytest.mark.parametrize("next_value", HOSTILE[:8])
def test_revoke_never_redirects_off_site(approved_project, next_value):
    handle, project_id = approved_project
    admin = sign_in(handle.client(), "o-district-next")
    res = admin.post(f"/m/admin/projects/{project_id}/revoke", data={
        "csrf_token": csrf_token(admin, "/m/admin/reviews?tab=approved"), "next": next_value, "reason": "信息有误"})
    assert res.status_code == 302 and res.location == "/m/admin/projects"
    with handle.app.app_context():
        assert db.session.get(pr.Project, project_id).status == pr.PENDING


def test_revoke_follows_a_next_of_ours(approved_project):
    handle, project_id = approved_project
    admin = sign_in(handle.client(), "o-district-next")
    res = admin.post(f"/m/admin/projects/{project_id}/revoke", data={
        "csrf_token": csrf_token(admin, "/m/admin/reviews?tab=approved"), "next": "/m/admin/reviews?tab=approved"})
    assert res.status_code == 302 and res.location == "/m/admin/reviews?tab=approved"

"""Authorization matrix across the features: every project-level admin action × who asks.

Who asks, relative to a project published by a level-3 street station: an admin of that org, of its
parent, of its grandparent, of a sibling, of a child org, the project's temporary admin, a plain
volunteer, and nobody (anonymous).  The org-level actions are the matrix of
``tests/models/test_permissions.py``; here the same check is read through the project (temporary
admins, the publisher) and for an anonymous person on every action of both.
"""

from __future__ import annotations

import pytest

from models import db, permissions
from models.membership import approve_members, join_org
from models.project import TEMP_ADMIN_ACTIONS, can_manage_project
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import publish

ACTORS = ("self", "parent", "grandparent", "sibling", "child", "temporary", "member", "anonymous")
ADMIN_OF = {"self": "street", "parent": "district", "grandparent": "root", "sibling": "sibling_street",
            "child": "community"}

PROJECT_ACTIONS = ("edit_project", "delete_project", "review_signups", "invite_volunteers", "locate_project",
                   "scan_assist", "review_makeups", "handle_objections", "review_project", "revoke_project",
                   "print_certificate")
ORG_ADMINS = {"self", "parent", "grandparent"}
EXPECTED = {
    **{a: ORG_ADMINS for a in PROJECT_ACTIONS if a in permissions.SELF_AND_BELOW},
    "review_project": {"parent", "grandparent"},   # 项目审核 is the superiors'
    "revoke_project": ORG_ADMINS,                  # the superiors, and the publisher (the street admin)
}
for action in TEMP_ADMIN_ACTIONS:                  # 报名审核, 定位, 扫码: the project's temporary admin too
    EXPECTED[action] = EXPECTED[action] | {"temporary"}


@pytest.fixture(scope="module")
def world(sqlite_app):
    sqlite_app.reset()
    with sqlite_app.app.app_context():
        orgs, admins = build_tree()
        temporary, member = make_volunteer("临时管理员"), make_volunteer("普通志愿者")
        join_org(member, orgs["street"].id, now=NOW)
        approve_members(admins["street"], orgs["street"].id, [member.id], now=NOW)
        project = publish(admins["street"], temp_admin_id_numbers=temporary.id_number)
        db.session.commit()
        people = {actor: admins[org] for actor, org in ADMIN_OF.items()}
        people.update(temporary=temporary, member=member, anonymous=None)
        yield project, people, orgs
        db.session.rollback()
    sqlite_app.reset()


def test_every_project_action_is_covered():
    assert set(EXPECTED) == set(PROJECT_ACTIONS)
    assert set(PROJECT_ACTIONS) <= permissions.ACTIONS


@pytest.mark.parametrize("action", PROJECT_ACTIONS)
def test_project_matrix(world, action):
    project, people, _ = world
    allowed = {actor for actor in ACTORS if can_manage_project(people[actor], project, action, now=NOW)}
    assert allowed == EXPECTED[action]


def test_anonymous_may_do_nothing_anywhere(world):
    project, _, orgs = world
    for action in sorted(permissions.ACTIONS):
        for org in orgs.values():
            assert not permissions.can(None, action, org, now=NOW), action
        assert not can_manage_project(None, project, action, now=NOW)


def test_a_temporary_admin_has_no_power_on_other_projects(world):
    project, people, orgs = world
    with_other = publish(people["self"], name="另一个项目", short_name="另一项目")
    for action in TEMP_ADMIN_ACTIONS:
        assert can_manage_project(people["temporary"], project, action, now=NOW)
        assert not can_manage_project(people["temporary"], with_other, action, now=NOW)
    db.session.rollback()

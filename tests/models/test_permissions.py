"""The one permission check, as a matrix: every action × who is asking, on a level-3 org."""

from __future__ import annotations

import pytest

from models import RuleViolation, db, permissions
from models.membership import approve_members, join_org
from models.org_rules import deregister_org, set_review_exempt
from tests.support.orgs import NOW, build_tree, make_volunteer

# Who asks, relative to the target org (the street station, level 3, below a level-2 district).
ACTORS = ("self", "parent", "grandparent", "sibling", "child", "member")
ADMIN_OF = {"self": "street", "parent": "district", "grandparent": "root", "sibling": "sibling_street",
            "child": "community"}

EXPECTED = {
    **{action: {"self", "parent", "grandparent"} for action in permissions.SELF_AND_BELOW},
    **{action: {"parent", "grandparent"} for action in permissions.BELOW_ONLY},
    "set_review_exempt": {"parent"},  # the district is level 2; the root (level 1) may not
}

MATRIX = [(action, actor) for action in sorted(permissions.ACTIONS) for actor in ACTORS]


@pytest.fixture
def tree(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        member = make_volunteer("普通成员")
        join_org(member, orgs["street"].id, now=NOW)
        approve_members(admins["street"], orgs["street"].id, [member.id], now=NOW)
        admins["member"] = member
        yield orgs, admins
        db.session.rollback()


def test_every_action_is_in_the_matrix():
    assert set(EXPECTED) == permissions.ACTIONS


@pytest.mark.parametrize(("action", "actor"), MATRIX)
def test_matrix(tree, action, actor):
    orgs, admins = tree
    volunteer = admins[ADMIN_OF.get(actor, actor)] if actor != "member" else admins["member"]
    allowed = actor in EXPECTED[action]
    assert permissions.can(volunteer, action, orgs["street"], now=NOW) is allowed
    if allowed:
        permissions.require(volunteer, action, orgs["street"], now=NOW)
    else:
        with pytest.raises(RuleViolation) as info:
            permissions.require(volunteer, action, orgs["street"], now=NOW)
        assert info.value.code == "forbidden" and info.value.status == 403


def test_level2_admin_sets_exemption_two_levels_down(tree):
    orgs, admins = tree
    assert permissions.can(admins["district"], "set_review_exempt", orgs["community"], now=NOW)
    assert not permissions.can(admins["district"], "set_review_exempt", orgs["district"], now=NOW)
    assert not permissions.can(admins["district"], "set_review_exempt", orgs["sibling_district"], now=NOW)


def test_nobody_and_unknown_action(tree):
    orgs, admins = tree
    assert not permissions.can(None, "manage_members", orgs["street"])
    with pytest.raises(ValueError):
        permissions.can(admins["root"], "launch_rockets", orgs["street"])


def test_admin_of_an_org_out_of_management_has_no_power(tree):
    orgs, admins = tree
    deregister_org(admins["district"], orgs["street"].id, now=NOW)
    assert not permissions.can(admins["street"], "manage_members", orgs["street"], now=NOW)
    assert not permissions.can(admins["street"], "manage_members", orgs["community"], now=NOW)
    # the superiors still manage it (they may review it back in)
    assert permissions.can(admins["district"], "review_org", orgs["street"], now=NOW)


def test_rules_call_the_check(tree):
    orgs, admins = tree
    with pytest.raises(RuleViolation) as info:
        set_review_exempt(admins["root"], orgs["street"].id, True, now=NOW)
    assert info.value.code == "forbidden"
    with pytest.raises(RuleViolation):
        deregister_org(admins["sibling_street"], orgs["street"].id, now=NOW)
    set_review_exempt(admins["district"], orgs["street"].id, True, now=NOW)
    assert orgs["street"].review_exempt is True

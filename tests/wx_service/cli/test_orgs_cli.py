"""``flask orgs init-root`` and the demo city's organizations."""

from __future__ import annotations

from models import Organization, db
from models.organization import admin_org_of
from tests.support.orgs import NOW, make_volunteer


def test_init_root(app_lite):
    app = app_lite.app
    with app.app_context():
        volunteer = make_volunteer("总站管理员")
        db.session.commit()
        number, volunteer_id = volunteer.number, volunteer.id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orgs", "init-root", "--name", "江海志愿者服务总站", "--admin", number])
    assert result.exit_code == 0, result.output
    with app.app_context():
        root = Organization.query.one()
        assert (root.name, root.level, root.status, root.path) == ("江海志愿者服务总站", 1, "active", f"/{root.id}/")
        assert admin_org_of(volunteer_id).id == root.id
    again = runner.invoke(args=["orgs", "init-root", "--admin", number])
    assert again.exit_code != 0 and "一级组织已经存在" in again.output
    unknown = runner.invoke(args=["orgs", "init-root", "--admin", "nobody"])
    assert unknown.exit_code != 0 and "no volunteer" in unknown.output


def test_seed_orgs(app_lite):
    from wx_service.dev.demo.orgs import CITY, seed_orgs

    with app_lite.app.app_context():
        root_admin = make_volunteer()
        helpers = [make_volunteer() for _ in range(len(CITY) + 1)]
        orgs = seed_orgs(root_admin, helpers, now=NOW)
        db.session.commit()
        assert Organization.query.filter_by(status="active").count() == len(CITY) + 1
        assert {o.level for o in orgs.values()} == {1, 2, 3, 4}
        assert orgs["pending"].status == "pending" and orgs["pending"].level == 4
        assert orgs["school"].org_type == "学校"
        assert admin_org_of(helpers[0].id).id == orgs["chongchuan"].id


def test_seed_orgs_with_the_root_admin_only(app_lite):
    from wx_service.dev.demo.orgs import CITY, seed_orgs

    with app_lite.app.app_context():
        orgs = seed_orgs(make_volunteer(), now=NOW)
        db.session.commit()
        assert len(orgs) == len(CITY) + 1 and all(o.status == "active" for o in orgs.values())

from models import Binding, Membership, Notification, Organization, Project, Volunteer
from models.organization import admin_org_of
from models.wish import Wish
from wx_service.dev.demo import DEMO_PASSWORD, seed_demo


def test_demo_seed_builds_once_and_binds_the_phone_openids(app_lite):
    with app_lite.app.app_context():
        assert seed_demo() is True
        assert seed_demo() is False
        admin = Binding.volunteer_for("demo", "o_demo_admin")
        assert admin is not None and admin.check_password(DEMO_PASSWORD)
        assert admin_org_of(admin.id).level == 1
        assert Volunteer.query.count() == 3
        assert Organization.query.count() >= 9
        member = Binding.volunteer_for("demo", "o_demo_volunteer")
        assert Membership.query.filter_by(volunteer_id=member.id, state="approved").count() == 1
        assert Notification.query.filter_by(volunteer_id=member.id, kind="join_result").count() == 1
        assert Wish.query.count() >= 3
        assert Project.query.count() >= 2


def _menu_names(handle, openid):
    appid = handle.config["accounts"]["demo"]["app_id"]
    menu = handle.sandbox.menu_for(appid, openid) or {}
    return [button["name"] for button in menu.get("button", [])]


def test_demo_admins_get_the_admin_menu_from_seeding_and_again_after_a_restart(app_lite):
    """As ``make run`` does: the phone's people follow, the menus are pushed, the city is seeded."""
    from menus import sync_menus
    from wx_service.dev.demo import DEMO_OPENIDS, restore_admin_tags

    appid = app_lite.config["accounts"]["demo"]["app_id"]
    for openid in DEMO_OPENIDS:
        app_lite.sandbox.follow(appid, openid)
    with app_lite.app.app_context():
        sync_menus(app_lite.app.extensions["wechat"].client("demo"), app_lite.base_url, "demo")
        assert seed_demo() is True
    assert app_lite.drain_jobs()
    assert "志愿组织" in _menu_names(app_lite, "o_demo_admin")      # 总站 admin
    assert "志愿组织" in _menu_names(app_lite, "o_demo_station")    # 支队 admin
    assert "志愿组织" not in _menu_names(app_lite, "o_demo_volunteer")

    for openid in DEMO_OPENIDS:  # a restart: the sandbox's memory is new, the database is not
        app_lite.sandbox.unfollow(appid, openid)
        app_lite.sandbox.follow(appid, openid)
    assert "志愿组织" not in _menu_names(app_lite, "o_demo_admin")
    with app_lite.app.app_context():
        assert seed_demo() is False
        assert restore_admin_tags() >= 2
    assert app_lite.drain_jobs()
    assert "志愿组织" in _menu_names(app_lite, "o_demo_admin")
    assert "志愿组织" not in _menu_names(app_lite, "o_demo_volunteer")

"""新时代文明实践 rules with an injected ``now``: the place tree and who manages what (a matrix per level),
needs (classify, 上报, 处理, who is told), plans and orders (capacity, 派单, 接单 with a 双签 project,
评单 with a low rating told upward), and targets."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from models import Notification, RuleViolation, db
from models.practice import needs, orders, places, plans, projects, targets
from models.practice.tables import NEED_HANDLED, NEED_REPORTED, ORDER_ACCEPTED, ORDER_RATED, Need, PracticeLog
from models.project import TOPIC_PRACTICE
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.practice import PLAN_FIELDS, build_places

TODAY = date(2026, 3, 1)


class Store:
    """The shared store's two calls ``sms_code.issue`` uses, in memory."""

    def __init__(self):
        self.keys = {}

    def add(self, key, value, ttl):
        return self.keys.setdefault(key, value) == value and self.keys[key] is value

    def incr(self, key, ttl):
        self.keys[key] = self.keys.get(key, 0) + 1
        return self.keys[key]


@pytest.fixture
def city(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        tree = build_places(orgs, admins, NOW)
        yield orgs, admins, tree
        db.session.rollback()


def kinds():
    return [(n.volunteer_id, n.kind) for n in Notification.query.order_by(Notification.id)]


# ----------------------------------------------------------------------------- the permission matrix
MATRIX = {  # admin of … → places they manage
    "root": {"centre", "institute", "station", "sibling_institute", "other_centre"},
    "district": {"centre", "institute", "station", "sibling_institute"},
    "street": {"institute", "station"},
    "community": {"station"},
    "sibling_street": {"sibling_institute"},
    "sibling_district": {"other_centre"},
}


@pytest.mark.parametrize("admin", sorted(MATRIX))
def test_permission_matrix_per_level(city, admin):
    orgs, admins, tree = city
    managed = {key for key, place in tree.items() if places.can_manage(admins[admin], place)}
    assert managed == MATRIX[admin]
    assert {p.id for p in places.managed_places(admins[admin])} == {tree[k].id for k in MATRIX[admin]}
    for key, place in tree.items():
        if key in MATRIX[admin]:
            places.edit_place(admins[admin], place.id, {"intro": f"由{admin}修改"})
        else:
            with pytest.raises(RuleViolation) as refused:
                places.edit_place(admins[admin], place.id, {"intro": "越权修改"})
            assert refused.value.status == 403


def test_a_plain_volunteer_manages_nothing(city):
    _orgs, _admins, tree = city
    nobody = make_volunteer("王普通")
    assert not any(places.can_manage(nobody, p) for p in tree.values())
    assert places.managed_places(nobody) == []


def test_tree_levels_and_paths(city):
    orgs, admins, tree = city
    assert [tree[k].level for k in ("centre", "institute", "station")] == [1, 2, 3]
    assert tree["station"].path == f"/{tree['centre'].id}/{tree['institute'].id}/{tree['station'].id}/"
    assert [p.id for p in places.ancestors(tree["station"])] == [tree["institute"].id, tree["centre"].id]
    with pytest.raises(RuleViolation, match="实践站下不能再设立阵地"):
        places.create_place(admins["root"], parent_id=tree["station"].id, org_id=orgs["community"].id,
                            region="崇川区", fields={"name": "再下一级"}, now=NOW)
    with pytest.raises(RuleViolation, match="只有市级管理员"):
        places.create_place(admins["district"], parent_id=None, org_id=orgs["community"].id, region="崇川区",
                            fields={"name": "新中心"}, now=NOW)
    with pytest.raises(RuleViolation) as taken:
        places.create_place(admins["root"], parent_id=None, org_id=orgs["district"].id, region="崇川区",
                            fields={"name": "重复绑定"}, now=NOW)
    assert taken.value.code == "place_org_taken"


def test_near_me_orders_by_distance(city):
    from models.positions import Position

    _orgs, _admins, tree = city
    rows = places.near(Position(32.0201, 120.8701))
    assert [r.place.id for r in rows[:2]] == [tree["institute"].id, tree["station"].id]
    assert rows[0].metres < 100 and rows[-1].place.id == tree["other_centre"].id
    assert rows[-1].distance_text.endswith("公里")
    assert [r.place.id for r in places.near(None, region="海门区")] == [tree["other_centre"].id]


# ----------------------------------------------------------------------------- needs
_SEQ = iter(range(10_000))


def submit_need(tree, *, openid="o_resident", place="station", phone=None, recorder=None, **changes):
    """A need with a fresh SMS code (each call from its own phone and address, so no send limit applies)."""
    n = next(_SEQ)
    code_phone = phone or f"139{n:08d}"
    _phone, code = needs.request_code(code_phone, f"10.0.{n // 250}.{n % 250}", NOW, store=Store(), daily_cap=5)
    values = {"place_id": tree[place].id, "title": "小区需要防诈骗讲座", "name": "张亚林", "phone": code_phone,
              "region": "崇川区", "content": "老人多，最近常接到诈骗电话，希望来讲一讲。", "sms_code": code,
              "on_behalf": recorder is not None, **changes}
    return needs.submit("demo", openid, needs.NeedForm(**values), recorder=recorder, now=NOW)


def test_need_flow_report_then_handle_tells_the_submitter(city):
    _orgs, admins, tree = city
    resident = make_volunteer("张亚林", account="demo", openid="o_resident")
    need = submit_need(tree, phone="13912345678")
    assert need.phone_masked == "139****5678" and need.phone == "13912345678"
    assert (admins["community"].id, "practice_need_new") in kinds()
    needs.classify(admins["community"], need.id, kind="common", category="理论宣讲", now=NOW)
    needs.report(admins["community"], need.id, note="本站缺少讲师", now=NOW)
    assert need.state == NEED_REPORTED and need.place_id == tree["institute"].id
    with pytest.raises(RuleViolation):  # the station no longer holds it
        needs.handle(admins["community"], need.id, note="处理", now=NOW)
    assert (admins["street"].id, "practice_need_new") in kinds()
    needs.handle(admins["street"], need.id, note="已安排民警上门宣讲", now=NOW + timedelta(days=1))
    assert need.state == NEED_HANDLED and need.handled_by_id == admins["street"].id
    told = [n for n in Notification.query.filter_by(volunteer_id=resident.id).order_by(Notification.id)]
    assert [n.data["state"] for n in told] == ["已上报", "已处理"]
    assert [row.action for row in PracticeLog.query.filter_by(subject="need").order_by(PracticeLog.id)] == [
        "submitted", "classified", "reported", "handled"]
    with pytest.raises(RuleViolation, match="已处理"):
        needs.handle(admins["street"], need.id, note="再处理一次", now=NOW)


def test_need_on_behalf_tells_the_recorder_and_a_centre_cannot_report(city):
    _orgs, admins, tree = city
    helper = make_volunteer("李代录", account="demo", openid="o_helper")
    need = submit_need(tree, openid="o_helper", place="centre", recorder=helper)
    assert need.recorded_by_id == helper.id
    with pytest.raises(RuleViolation, match="没有上级"):
        needs.report(admins["district"], need.id, now=NOW)
    needs.handle(admins["district"], need.id, note="转给社区卫生服务中心", now=NOW)
    assert [n.kind for n in Notification.query.filter_by(volunteer_id=helper.id)] == ["practice_need_update"]
    assert needs.of_submitter("demo", "o_other", helper) == [need]


def test_need_refuses_bad_input_and_a_wrong_code(city):
    _orgs, _admins, tree = city
    for changes, code in [({"sms_code": "000000"}, "sms_code_wrong"), ({"title": ""}, "need_title_missing"),
                          ({"region": "苏州市"}, "need_region_invalid"), ({"phone": "12345"}, "phone_invalid"),
                          ({"content": "短"}, "need_content_invalid"), ({"name": " "}, "need_name_missing")]:
        with pytest.raises(RuleViolation) as refused:
            submit_need(tree, **changes)
        assert refused.value.code == code
    with pytest.raises(RuleViolation) as no_code:
        needs.submit("demo", "o_x", needs.NeedForm(place_id=tree["station"].id, title="标题不错", name="张三",
                                                   phone="13812345678", region="崇川区", content="内容足够长",
                                                   sms_code="123456"), now=NOW)
    assert no_code.value.code == "sms_code_invalid"
    assert Need.query.count() == 0


# ----------------------------------------------------------------------------- plans and orders
def test_orders_respect_capacity_and_one_per_person(city):
    _orgs, admins, tree = city
    plan = plans.publish(admins["street"], tree["institute"].id, {**PLAN_FIELDS, "planned_sessions": 2},
                         today=TODAY, now=NOW)
    first = orders.place_order("demo", "o_a", plan.id, name="甲", phone="13900000001", wish="想听讲座", today=TODAY,
                               now=NOW)
    with pytest.raises(RuleViolation, match="已预约过"):
        orders.place_order("demo", "o_a", plan.id, name="甲", phone="13900000001", wish="再约一次", today=TODAY,
                           now=NOW)
    orders.place_order("demo", "o_b", plan.id, name="乙", phone="13900000002", wish="想听讲座", today=TODAY, now=NOW)
    with pytest.raises(RuleViolation) as full:
        orders.place_order("demo", "o_c", plan.id, name="丙", phone="13900000003", wish="想听讲座", today=TODAY,
                           now=NOW)
    assert full.value.code == "plan_full" and plan.ordered_count == 2
    assert first.phone_masked == "139****0001"
    with pytest.raises(RuleViolation, match="不能少于"):
        plans.edit(admins["street"], plan.id, {**PLAN_FIELDS, "planned_sessions": 1})
    with pytest.raises(RuleViolation):
        plans.publish(admins["community"], tree["institute"].id, PLAN_FIELDS, today=TODAY, now=NOW)


def practice_project_fields(**changes):
    fields = {"name": "家庭教育讲座进社区", "short_name": "家教讲座", "recruit_count": 5, "category": "文明实践",
              "topic": TOPIC_PRACTICE, "region": "崇川区", "place": "百花社区活动室", "latitude": 32.021,
              "longitude": 120.871, "description": "讲座", "signup_start": date(2026, 3, 1),
              "signup_end": date(2026, 3, 2), "start_date": date(2026, 3, 2), "end_date": date(2026, 3, 2),
              "daily_start": time(9, 0), "daily_end": time(11, 0), "checkin_mode": "double", "punch_radius": 500,
              "checkout_mode": "central"}
    fields.update(changes)
    return fields


def test_order_dispatch_accept_rate_and_low_rating_goes_up(city):
    orgs, admins, tree = city
    resident = make_volunteer("赵点单", account="demo", openid="o_orderer")
    plan = plans.publish(admins["street"], tree["institute"].id, PLAN_FIELDS, today=TODAY, now=NOW)
    order = orders.place_order("demo", "o_orderer", plan.id, name="赵点单", phone="13900000009", wish="想给孩子听",
                               today=TODAY, now=NOW)
    with pytest.raises(RuleViolation):  # a team outside the place's org subtree
        orders.dispatch(admins["street"], order.id, team_org_id=orgs["sibling_street"].id, note="请安排", now=NOW)
    orders.dispatch(admins["street"], order.id, team_org_id=orgs["community"].id, note="请百花社区安排", now=NOW)
    assert (admins["community"].id, "practice_order_dispatched") in kinds()
    assert orders.dispatched_to(admins["community"]) == [order]
    with pytest.raises(RuleViolation) as single:
        projects.publish(admins["community"], practice_project_fields(checkin_mode="single", preset_hours=1),
                         order_id=order.id, now=NOW, tz="Asia/Shanghai")
    assert single.value.code == "practice_needs_double"
    with pytest.raises(RuleViolation):  # another org cannot take it
        projects.publish(admins["sibling_street"], practice_project_fields(), order_id=order.id, now=NOW,
                         tz="Asia/Shanghai")
    project = projects.publish(admins["community"], practice_project_fields(), order_id=order.id, now=NOW,
                               tz="Asia/Shanghai")
    assert order.state == ORDER_ACCEPTED and order.project_id == project.id
    assert projects.link_of(project.id).place_id == tree["station"].id  # the community org's place by default
    assert orders.of_project(project.id) == order
    with pytest.raises(RuleViolation, match="活动结束后"):
        orders.start_rating(admins["community"], order.id, now=NOW)
    after = NOW + timedelta(days=3)
    orders.start_rating(admins["community"], order.id, now=after)
    assert (resident.id, "practice_rating_request") in kinds()
    with pytest.raises(RuleViolation, match="只有点单人"):
        orders.rate("demo", "o_someone", order.id, stars=5, comment="", now=after)
    with pytest.raises(RuleViolation):
        orders.rate("demo", "o_orderer", order.id, stars=6, comment="", now=after)
    orders.rate("demo", "o_orderer", order.id, stars=2, comment="讲师迟到了", now=after)
    assert order.state == ORDER_RATED and order.stars == 2
    assert (admins["district"].id, "practice_low_rating") in kinds()  # the institute's parent: the centre


def test_practice_project_names_the_place(city):
    _orgs, admins, tree = city
    project = projects.publish(admins["street"], practice_project_fields(), now=NOW, tz="Asia/Shanghai")
    assert projects.link_of(project.id).place_id == tree["institute"].id
    chosen = projects.publish(admins["street"], practice_project_fields(name="在站里办"), place_id=tree["station"].id,
                              now=NOW, tz="Asia/Shanghai")
    assert projects.link_of(chosen.id).place_id == tree["station"].id
    with pytest.raises(RuleViolation) as elsewhere:
        projects.publish(admins["street"], practice_project_fields(name="去别处"), place_id=tree["other_centre"].id,
                         now=NOW, tz="Asia/Shanghai")
    assert elsewhere.value.code == "practice_place_invalid"
    other = projects.publish(admins["street"], practice_project_fields(name="普通活动", topic=None), now=NOW,
                             tz="Asia/Shanghai")
    assert projects.link_of(other.id) is None


def test_targets_only_by_city_admins(city):
    _orgs, admins, tree = city
    with pytest.raises(RuleViolation):
        targets.set_targets(admins["district"], tree["centre"].id, 2026, [1] * 12)
    targets.set_targets(admins["root"], tree["centre"].id, 2026, list(range(12)))
    targets.set_targets(admins["root"], tree["centre"].id, 2026, [5] * 12)
    assert targets.of_place(tree["centre"].id, 2026) == [5] * 12
    with pytest.raises(RuleViolation):
        targets.set_targets(admins["root"], tree["centre"].id, 2026, [-1] + [0] * 11)

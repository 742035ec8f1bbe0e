"""Form coercion on the pages' side: the field specs turn form strings into typed values, refusing each field
with its Chinese label; the rules across fields stay in models/."""

from __future__ import annotations

from datetime import date, time

import pytest
from werkzeug.datastructures import MultiDict

from models import RuleViolation
from models import help_seeker as hs
from tests.support.help import seeker_fields
from tests.support.projects import TODAY, fields, single_fields
from tests.support.wishes import WISH_FIELDS
from wx_service.pages.fields import Bool, Choice, Date, Decimal, Form, Int, Many, Text, Time, parse
from wx_service.pages.help_admin import SEEKER_FORM
from wx_service.pages.orgs import ORG_FORM
from wx_service.pages.project_admin import PROJECT_FORM
from wx_service.pages.wishes import WISH_FORM


def refusal(spec, form, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        parse(spec, form, **kwargs)
    return info.value


def test_a_project_form_becomes_typed_values():
    typed = parse(PROJECT_FORM, {**single_fields(), "topic": "", "needs_review": "0", "recruit_count": " 12 "})
    assert typed["recruit_count"] == 12 and typed["preset_hours"] == 2.0 and typed["needs_review"] is False
    assert typed["signup_start"] == TODAY and typed["daily_start"] == time(9, 0) and typed["daily_end"] == time(11, 30)
    assert typed["latitude"] == 32.01 and typed["topic"] is None
    assert typed["punch_radius"] is None and typed["checkout_mode"] is None  # 单签: blanks are "none"
    assert typed["service_targets"] == ["社会公众"]


def test_repeated_checkboxes_are_read_with_getlist():
    form = MultiDict([*((k, v) for k, v in fields().items() if k != "service_targets"), ("service_targets", "孤寡老人"),
                      ("service_targets", "社会公众"), ("service_targets", "孤寡老人")])
    assert parse(PROJECT_FORM, form)["service_targets"] == ["孤寡老人", "社会公众"]


@pytest.mark.parametrize(("override", "code", "message"), [
    ({"name": ""}, "project_field_missing", "请填写项目名称。"),
    ({"start_date": " "}, "project_field_missing", "请填写活动开始日期。"),
    ({"start_date": "2026-02-30"}, "project_date_invalid", "请正确填写活动开始日期。"),
    ({"daily_end": "25:00"}, "project_time_invalid", "请正确填写每日计时结束时间。"),
    ({"recruit_count": "十"}, "recruit_count_invalid", "招募人数应为正整数。"),
    ({"recruit_count": "0"}, "recruit_count_invalid", "招募人数应为正整数。"),
    ({"latitude": "nan"}, "project_point_invalid", "请在地图上标注活动地点。"),
    ({"place": "北" * 201}, "project_field_too_long", "实施地点过长。"),
    ({"short_name": "滨江·环保"}, "short_name_invalid", "项目简称不能使用标点符号。"),
    ({"checkin_mode": "single", "preset_hours": "3.5"}, "preset_hours_invalid", "单签项目的单次时长最多3小时。"),
    ({"checkin_mode": "single", "preset_hours": "两"}, "preset_hours_invalid", "单次时长不正确。"),
    ({"punch_radius": "5"}, "punch_radius_invalid", "打卡有效距离不正确。"),
    ({"service_targets": ["社会公众", "宠物"]}, "service_target_invalid", "服务对象不正确。"),
])
def test_each_project_field_is_refused_with_its_label(override, code, message):
    refused = refusal(PROJECT_FORM, fields(**override))
    assert (refused.code, refused.message) == (code, message)


def test_an_edit_reads_only_the_fields_it_holds():
    assert parse(PROJECT_FORM, {"place": " 滨江公园南门 ", "end_date": "2026-03-10"}, partial=True) == {
        "place": "滨江公园南门", "end_date": date(2026, 3, 10)}
    assert refusal(PROJECT_FORM, {"name": ""}, partial=True).code == "project_name_invalid"  # as before


def test_a_seeker_edit_may_not_blank_a_required_field():
    assert refusal(SEEKER_FORM, {"address": "  "}, partial=True).code == "address_required"
    assert refusal(SEEKER_FORM, seeker_fields(name=" 王  秀英 ")).code == "name_spaces"  # folded, then checked
    assert parse(SEEKER_FORM, seeker_fields(mobile=" 13851300001 "))["mobile"] == "13851300001"
    assert parse(SEEKER_FORM, seeker_fields(notes=" 独居\n腿脚不便 "))["notes"] == "独居\n腿脚不便"
    refused = refusal(SEEKER_FORM, seeker_fields(address="桃" * 201))
    assert (refused.code, refused.message) == ("address_too_long", "家庭地址不能超过200个字。")


def test_cross_field_seeker_rules_stay_in_the_model():
    """The ID number against today and the emergency contact's name take typed values in models/."""
    typed = parse(SEEKER_FORM, seeker_fields(emergency_name=""))
    with pytest.raises(RuleViolation) as info:
        hs.check_fields(typed, today=date(2026, 3, 1))
    assert info.value.code == "emergency_name_required"
    born_later = parse(SEEKER_FORM, seeker_fields(id_number="32060220300101000X"))
    with pytest.raises(RuleViolation) as info:
        hs.check_fields(born_later, today=date(2026, 3, 1))
    assert info.value.code == "id_invalid"


def test_org_form_blank_point_is_none_and_bad_phone_is_refused():
    form = {"name": "和平桥青年志愿服务队", "org_type": "民间公益", "region": "崇川区", "latitude": "",
            "service_domains": "社区服务，助老助残"}
    assert parse(ORG_FORM, form) == {**form, "latitude": None, "service_domains": ["社区服务", "助老助残"]}
    assert refusal(ORG_FORM, {**form, "contact_phone": "0513-8512三"}).code == "org_phone_invalid"
    assert refusal(ORG_FORM, {**form, "org_type": ""}).message == "请填写组织类型。"
    assert refusal(ORG_FORM, {"name": " "}, partial=True).code == "org_name_invalid"  # an edit cannot blank it
    assert parse(ORG_FORM, {"contact_phone": ""}, partial=True) == {"contact_phone": ""}


def test_field_types_alone():
    spec = Form({"n": Int("人数", "n_bad", low=1, high=9), "x": Decimal("时长", "x_bad", blank=None),
                 "d": Date("日期", "d_bad"), "t": Time("时间", "t_bad"), "c": Choice("类型", "c_bad", options=("甲",)),
                 "b": Bool("审核"), "m": Many("对象", "m_bad", options=("甲", "乙")), "s": Text("姓名", "s_bad", high=2)})
    typed = parse(spec, {"n": "3", "x": "", "d": "2026-03-01", "t": "08:30:15", "c": "甲", "b": "on", "m": "乙,甲,乙",
                         "s": " 顾丽 "})
    assert typed == {"n": 3, "x": None, "d": date(2026, 3, 1), "t": time(8, 30, 15), "c": "甲", "b": True,
                     "m": ["乙", "甲"], "s": "顾丽"}
    assert parse(spec, {"d": date(2026, 3, 1), "n": 4, "b": False}) == {"d": date(2026, 3, 1), "n": 4, "b": False}
    for key, raw in (("n", "10"), ("x", "inf"), ("d", "3月1日"), ("t", "8点"), ("c", "乙"), ("m", "丙"), ("s", "顾丽华")):
        assert refusal(spec, {key: raw}).code == f"{key}_bad", key



# 我有心愿 (图3-15): each field alone; the region and the phone rule are the model's (tests/models/test_wishes.py)
@pytest.mark.parametrize("changes, code", [
    ({"name": ""}, "wish_name_missing"),
    ({"name": "张" * 21}, "wish_name_too_long"),
    ({"district": ""}, "wish_district_missing"),
    ({"age": ""}, "wish_age_missing"),
    ({"age": "abc"}, "wish_age_invalid"),
    ({"age": "-1"}, "wish_age_invalid"),
    ({"age": "121"}, "wish_age_invalid"),
    ({"age": "7.5"}, "wish_age_invalid"),
    ({"gender": ""}, "wish_gender_missing"),
    ({"gender": "X"}, "wish_gender_missing"),
    ({"phone": ""}, "wish_phone_missing"),
    ({"address": "   "}, "wish_address_missing"),
    ({"address": "甲"}, "wish_address_too_short"),
    ({"address": "甲" * 201}, "wish_address_too_long"),
    ({"situation": ""}, "wish_situation_missing"),
    ({"situation": "况" * 501}, "wish_situation_too_long"),
    ({"content": ""}, "wish_content_missing"),
    ({"content": "愿" * 301}, "wish_content_too_long"),
])
def test_wish_form_refusals(changes, code):
    caught = refusal(WISH_FORM, {**WISH_FIELDS, **changes})
    assert caught.code == code and caught.status == 400
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.message), "a Chinese message"


def test_wish_form_types_and_messages():
    typed = parse(WISH_FORM, {**WISH_FIELDS, "name": " 张亚林 ", "age": " 0 ", "phone": "（0513）85123456", "street": ""})
    assert typed == {**WISH_FIELDS, "age": 0, "phone": "051385123456", "street": ""}
    assert parse(WISH_FORM, {**WISH_FIELDS, "phone": "139 1234 5678", "age": "120"})["phone"] == "13912345678"
    messages = {key: refusal(WISH_FORM, {**WISH_FIELDS, key: raw}).message for key, raw in
                (("district", ""), ("gender", "X"), ("phone", " "), ("age", "7.5"), ("address", "甲"))}
    assert messages == {"district": "请选择地区。", "gender": "请选择性别。", "phone": "请填写电话。",
                        "age": "年龄请填写整数。", "address": "详细地址至少2个字。"}
    assert refusal(WISH_FORM, {**WISH_FIELDS, "age": "121"}).message == "年龄应在0至120岁之间。"

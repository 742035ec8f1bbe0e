"""The demo city's 新时代文明实践: two centres and two 实践所, a plan open for orders, a need and an order,
built through the same model rules the pages use.  Call after ``seed_orgs``; does not commit.

崇川区新时代文明实践中心 is run by 崇川区志愿者协会 (the demo station admin 王建华 is its admin), its
和平桥街道 and 城东街道 实践所 by the street 支队; 海门区新时代文明实践中心 by 海门区志愿者协会.
"""

from __future__ import annotations

from datetime import date, timedelta

from models.practice import orders, places, plans, targets

POINTS = {"chongchuan": (32.0093, 120.8616), "hepingqiao": (32.0196, 120.8742), "chengdong": (32.0241, 120.8976),
          "haimen": (31.8714, 121.1810)}


def seed_practice(orgs, city_admin, *, account: str, elder_openid: str, now, today: date) -> dict:
    def make(key, parent, name, region):
        lat, lng = POINTS[key]
        return places.create_place(city_admin, parent_id=parent.id if parent else None, org_id=orgs[key].id,
                                   region=region, now=now,
                                   fields={"name": name, "latitude": lat, "longitude": lng, "phone": "0513-85123456",
                                           "address": f"{region}{name[:-7]}", "intro": f"{name}面向群众开展理论宣讲、"
                                           "文化服务、健康与体育服务、科技与科普服务、教育服务。",
                                           "leaders": "总队长、政委" if parent is None else "支队长、指导员",
                                           "rules_text": "阵地开放时间：每周二至周日 9:00-17:00。"})

    centre = make("chongchuan", None, "崇川区新时代文明实践中心", "崇川区")
    heping = make("hepingqiao", centre, "和平桥街道新时代文明实践所", "崇川区")
    make("chengdong", centre, "城东街道新时代文明实践所", "崇川区")
    make("haimen", None, "海门区新时代文明实践中心", "海门区")
    for place in (centre, heping):
        targets.set_targets(city_admin, place.id, today.year, [8] * 12)
    plan = plans.publish(city_admin, heping.id, {
        "name": "家庭教育讲学志愿服务", "category": "教育服务", "planned_sessions": 10, "valid_from": today,
        "valid_until": today + timedelta(days=180), "accepts_orders": True, "audience": "学生家长",
        "organiser": "市教育局", "team": "德育志愿者", "activity_time": "全年", "location": "各新时代文明实践所(站)",
        "content": "开展家庭教育指导志愿服务"}, today=today, now=now)
    orders.place_order(account, elder_openid, plan.id, name="王秀英", phone="13813761402",
                       wish="想请老师来社区讲讲怎么陪孙子做作业", today=today, now=now)
    return {"centre": centre, "hepingqiao": heping, "plan": plan}

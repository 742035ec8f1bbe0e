"""The demo city's organizations, built through the same model rules the pages use.

``seed_orgs(root_admin_volunteer)`` creates the root 江海志愿者服务总站 (its admin: the given
volunteer), three level-2 volunteer associations, street stations below them and one school.  Each
org after the root is set up by its superior's admin (``found_suborg``).  Optional
``org_admins`` (volunteers who administer nothing yet) become admins of the created orgs in order,
and one more registers a pending org, so 子组织管理 has something to review.  Does not commit.
"""

from __future__ import annotations

from models.org_rules import add_admin, create_root, found_suborg, register_org

from ... import clock

ROOT_NAME = "江海志愿者服务总站"

#: (key, parent key, name, fields)
CITY = [
    ("chongchuan", "root", "崇川区志愿者协会", {"org_type": "民间公益", "region": "崇川区",
                                               "service_domains": ["社区服务", "文明实践"]}),
    ("haimen", "root", "海门区志愿者协会", {"org_type": "民间公益", "region": "海门区",
                                           "service_domains": ["助老助残", "环境保护"]}),
    ("rudong", "root", "如东县志愿者协会", {"org_type": "民间公益", "region": "如东县",
                                           "service_domains": ["扶贫济困", "应急救援"]}),
    ("hepingqiao", "chongchuan", "和平桥街道志愿服务支队", {"org_type": "机关事业单位", "region": "崇川区",
                                                          "service_domains": ["社区服务", "助老助残"],
                                                          "address": "崇川区和平桥街道"}),
    ("chengdong", "chongchuan", "城东街道志愿服务支队", {"org_type": "机关事业单位", "region": "崇川区",
                                                       "service_domains": ["社区服务"]}),
    ("sanchang", "haimen", "三厂街道志愿服务支队", {"org_type": "机关事业单位", "region": "海门区",
                                                   "service_domains": ["环境保护"]}),
    ("juegang", "rudong", "掘港街道志愿服务支队", {"org_type": "机关事业单位", "region": "如东县",
                                                  "service_domains": ["应急救援", "社区服务"]}),
    ("school", "chongchuan", "南通市第一中学青年志愿者服务队", {"org_type": "学校", "region": "崇川区",
                                                              "service_domains": ["文化教育", "关爱儿童"]}),
]

PENDING_ORG = ("hepingqiao", "百花社区志愿服务队", {"org_type": "民间公益", "region": "崇川区",
                                                 "service_domains": ["助老助残"]})


def seed_orgs(root_admin_volunteer, org_admins=(), *, now=None) -> dict:
    """Build the demo tree; returns ``{key: Organization}`` (``"root"`` and the keys of ``CITY``)."""
    now = now or clock.now()
    admins = list(org_admins)
    root = create_root(ROOT_NAME, root_admin_volunteer, now=now,
                       intro="江海志愿者服务总站统筹协调全市志愿服务工作。", contact_name="总站办公室")
    orgs = {"root": root}
    for key, parent_key, name, fields in CITY:
        orgs[key] = found_suborg(root_admin_volunteer, orgs[parent_key].id, {**fields, "name": name}, now=now)
        if admins:
            add_admin(root_admin_volunteer, orgs[key].id, admins.pop(0).number, now=now)
    if admins:
        parent_key, name, fields = PENDING_ORG
        orgs["pending"] = register_org(admins.pop(0), orgs[parent_key].id, {**fields, "name": name}, now=now)
    return orgs

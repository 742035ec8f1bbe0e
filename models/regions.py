"""地区: 南通市's districts / counties (the ``REGIONS`` orgs use) and some of their streets and towns.

The wish form picks a district first, then a street of it (cascading).  The districts are exactly
``organization.REGIONS`` without the city itself, so a wish's district names the org that covers it.
"""

from __future__ import annotations

CITY = "南通市"

#: district / county → streets and towns (街道、镇).  Not exhaustive: 其他 stands for the rest.
STREETS: dict[str, tuple[str, ...]] = {
    "崇川区": ("和平桥街道", "城东街道", "任港街道", "新城桥街道", "虹桥街道", "学田街道", "钟秀街道",
             "文峰街道", "观音山街道", "狼山镇街道", "唐闸镇街道", "天生港镇街道", "秦灶街道", "陈桥街道",
             "幸福街道", "永兴街道"),
    "通州区": ("金沙街道", "先锋街道", "兴东街道", "二甲镇", "东社镇", "西亭镇", "石港镇", "刘桥镇",
             "平潮镇", "五接镇", "川姜镇"),
    "海门区": ("海门街道", "三厂街道", "常乐镇", "悦来镇", "四甲镇", "余东镇", "正余镇", "包场镇",
             "临江镇", "海永镇"),
    "如东县": ("掘港街道", "城中街道", "苴镇街道", "长沙镇", "大豫镇", "曹埠镇", "岔河镇", "双甸镇",
             "新店镇", "河口镇", "袁庄镇", "马塘镇", "丰利镇", "栟茶镇", "洋口镇"),
    "启东市": ("汇龙镇", "南阳镇", "北新镇", "王鲍镇", "合作镇", "海复镇", "近海镇", "寅阳镇", "惠萍镇",
             "东海镇", "吕四港镇"),
    "如皋市": ("如城街道", "城南街道", "城北街道", "东陈镇", "丁堰镇", "白蒲镇", "下原镇", "九华镇",
             "石庄镇", "长江镇", "吴窑镇", "江安镇", "搬经镇", "磨头镇"),
    "海安市": ("海安街道", "孙庄街道", "城东镇", "曲塘镇", "李堡镇", "角斜镇", "大公镇", "雅周镇",
             "白甸镇", "南莫镇", "墩头镇"),
    "南通经济技术开发区": ("竹行街道", "新开街道", "中兴街道", "小海街道"),
    "苏锡通科技产业园区": ("江海街道",),
    "通州湾示范区": ("三余镇", "海晏街道"),
}

OTHER = "其他"

DISTRICTS: tuple[str, ...] = tuple(STREETS)


def streets_of(district: str) -> tuple[str, ...]:
    """The streets offered under ``district`` (with 其他 last); empty for an unknown district."""
    return STREETS.get(district, ()) + ((OTHER,) if district in STREETS else ())


def is_valid(district: str, street: str | None) -> bool:
    """A known district, and a street of it (or none)."""
    if district not in STREETS:
        return False
    return not street or street in streets_of(district)


def label(district: str, street: str | None) -> str:
    return district + (street if street and street != OTHER else "")

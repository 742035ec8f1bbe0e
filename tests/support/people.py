"""The people of the tests: Nantong residents, their ID numbers and phones; volunteers and signed-in browsers.

Every factory of tests/support takes its identities from here, so one sequence numbers every ID
number and phone of a test session and no two people collide.  The residents look like the city's:
born 1930–2008 (elders of the 1940s among them), cards under today's district codes and under the
abolished ones that stay on a card for life, names of the region, addresses of Nantong streets.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.cn import ric

from models.identity import MAINLAND_ID

_seq = itertools.count(1)
_serials: defaultdict[tuple, itertools.count] = defaultdict(lambda: itertools.count(1))  # per region, birthday, sex

#: Region codes on the cards of Nantong residents → where they live now (district, streets, roads).
#: Abolished codes first issued before a merger or a renaming stay on the card: 港闸区 (2020 → 崇川区),
#: 通州市 (2009 → 通州区), 海安县 (2018 → 海安市), 海门市 (2020 → 海门区), 南通县 (1993 → 通州市).
REGIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "320602": ("崇川区", ("和平桥街道", "城东街道", "任港街道", "学田街道", "文峰街道"), ("桃坞路", "人民中路", "青年中路")),
    "320611": ("崇川区", ("唐闸镇街道", "天生港镇街道", "秦灶街道", "陈桥街道"), ("通京大道", "江通路", "长平路")),
    "320613": ("崇川区", ("观音山街道", "狼山镇街道", "新城桥街道"), ("崇川路", "工农南路", "世纪大道")),
    "320612": ("通州区", ("金沙街道", "兴东街道", "平潮镇"), ("新金路", "金霞路", "碧华路")),
    "320683": ("通州区", ("先锋街道", "石港镇", "西亭镇"), ("人民东路", "建设路", "通甲路")),
    "320624": ("通州区", ("刘桥镇", "二甲镇", "东社镇"), ("朝阳路", "通吕路", "益寿路")),
    "320621": ("海安市", ("海安街道", "城东镇", "曲塘镇"), ("长江中路", "中坝南路", "宁海路")),
    "320685": ("海安市", ("孙庄街道", "李堡镇", "角斜镇"), ("黄海大道", "城东路", "通榆路")),
    "320623": ("如东县", ("掘港街道", "城中街道", "栟茶镇"), ("人民路", "青园路", "江海路")),
    "320681": ("启东市", ("汇龙镇", "南阳镇", "吕四港镇"), ("公园路", "人民路", "紫薇路")),
    "320682": ("如皋市", ("如城街道", "白蒲镇", "长江镇"), ("海阳路", "福寿路", "益寿路")),
    "320684": ("海门区", ("海门街道", "三厂街道", "常乐镇"), ("北京路", "长江路", "解放路")),
    "320614": ("海门区", ("海门街道", "悦来镇", "临江镇"), ("上海路", "人民路", "狮山路")),
}
CURRENT_REGIONS = ("320602", "320613", "320612", "320685", "320623", "320681", "320682", "320614")
ABOLISHED_REGIONS = ("320611", "320683", "320624", "320621", "320684")

FIRST_BIRTH, LAST_BIRTH = date(1930, 1, 1), date(2008, 2, 29)  # all 18 by the test clocks (2026-03-01 on)
_SPAN = (LAST_BIRTH - FIRST_BIRTH).days + 1
_STEP = 7919  # prime to the span: the first _SPAN residents get distinct birthdays

SURNAMES = "顾陈张王季施朱徐曹黄沈倪葛缪瞿蔡茅冒姜陆"
GIVEN = {  # (born before 1960, 1960–1984, from 1985) × (male, female)
    "old": (("建国", "德明", "桂生", "金宝", "国华", "志成", "锦堂"), ("秀英", "桂兰", "凤英", "玉珍", "秀珍", "兰英", "美华")),
    "mid": (("卫东", "海东", "志刚", "建华", "晓峰", "永红", "军"), ("红梅", "丽华", "海燕", "春燕", "晓红", "建英", "静")),
    "new": (("浩然", "宇轩", "子轩", "俊杰", "一鸣", "泽宇", "睿"), ("欣怡", "雨桐", "梓萱", "思涵", "佳怡", "诗琪", "悦")),
}
MOBILE_PREFIXES = ("13962", "13951", "13915", "13906", "13913", "13952", "13921", "13905")  # 江苏移动 139


@dataclass(frozen=True)
class Resident:
    name: str
    gender: str  # "M" / "F"
    birth_date: date
    id_number: str
    phone: str
    address: str


def _given(birth: date, male: bool, n: int) -> str:
    era = "old" if birth.year < 1960 else "mid" if birth.year < 1985 else "new"
    names = GIVEN[era][0 if male else 1]
    return names[n % len(names)]


def id_number(birth: str | date | None = None, region: str | None = None, male: bool = True) -> str:
    """A valid mainland ID number (real check digit) that no other test uses.

    ``birth`` ("19440315" or a date) and ``region`` default to the sequence's: birthdays spread over
    1930–2008, regions over today's and abolished Nantong codes.
    """
    n = next(_seq)
    if birth is None:
        birth = FIRST_BIRTH + timedelta(days=(n * _STEP) % _SPAN)
    if isinstance(birth, date):
        birth = birth.strftime("%Y%m%d")
    region = region or tuple(REGIONS)[n % len(REGIONS)]
    order = next(_serials[region, birth, male])
    assert order < 500, "499 people of one sex, region and birthday at most"
    serial = f"{order * 2 + (1 if male else 0):03d}"  # odd for men, even for women
    base = region + birth + serial
    return base + ric.calc_check_digit(base + "0")


def phone() -> str:
    """A mobile number of the kind Nantong people carry, never the same twice."""
    n = next(_seq)
    return f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{(n * _STEP + 123457) % 10**6:06d}"  # 1:1 below a million


def address(region: str = "320602", n: int | None = None) -> str:
    """A home address where a holder of ``region`` lives now, e.g. 南通市崇川区和平桥街道桃坞路18号."""
    n = next(_seq) if n is None else n
    district, streets, roads = REGIONS[region]
    return f"南通市{district}{streets[n % len(streets)]}{roads[n % len(roads)]}{n % 199 + 1}号"


def resident(birth: str | date | None = None, region: str | None = None, male: bool | None = None,
             name: str | None = None) -> Resident:
    """A Nantong resident: name, gender and birth date agree with the ID number."""
    n = next(_seq)
    male = n % 2 == 1 if male is None else male
    number = id_number(birth, region, male)
    born = ric.get_birth_date(number)
    name = name or SURNAMES[n % len(SURNAMES)] + _given(born, male, n // len(SURNAMES))
    return Resident(name, "M" if male else "F", born, number, phone(), address(number[:6], n))


def new_volunteer(name: str | None = None, *, number: str | None = None, password_hash: str | None = None,
                  **fields):
    """An unsaved Volunteer row for a fresh resident (``fields`` override columns, ``birth``/``region``
    choose the resident).  Call inside an app context: the volunteer number comes from the real sequence."""
    from models import Volunteer, volunteer_qr
    from models.accounts import volunteer_number

    person = resident(fields.pop("birth", None) or fields.get("birth_date"), fields.pop("region", None),
                      None if "gender" not in fields else fields["gender"] == "M", name)
    given_id = fields.pop("id_number", None)
    values = {"name": person.name, "gender": person.gender, "birth_date": person.birth_date,
              "id_type": MAINLAND_ID, "qr_token": volunteer_qr.new_token(), **fields}
    volunteer = Volunteer(number=number or volunteer_number("3206"), **values)
    volunteer.set_id_number(given_id or person.id_number)
    volunteer.set_phone(person.phone)
    if password_hash:
        volunteer.password_hash = password_hash
    return volunteer


def make_volunteer(name: str | None = None, password: str = "secret123", number: str | None = None, **fields):
    """A volunteer row, committed (call inside an app context)."""
    from models import db

    volunteer = new_volunteer(name, number=number, **fields)
    volunteer.set_password(password)
    db.session.add(volunteer)
    db.session.commit()
    return volunteer


def bind(volunteer, openid: str, account: str = "demo") -> None:
    from models import Binding, db, utcnow

    db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id, bound_at=utcnow()))
    db.session.commit()


def sign_in(client, openid: str, account: str = "demo"):
    """The browser session OAuth would have made."""
    with client.session_transaction() as session:
        openids = dict(session.get("openids") or {})
        openids[account] = openid
        session["openids"] = openids
        session["account"] = account
    return client


def csrf_token(client, path: str) -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict, page: str | None = None):
    """POST ``data`` to ``path`` as the form of ``page`` (default ``path``) does: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, page or path), **data})


def text(response) -> str:
    return response.get_data(as_text=True)

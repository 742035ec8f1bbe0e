"""The demo city's 礼遇坊 and 推荐阅读 / 志愿攻略, built through the same model rules the pages use.

``seed_home(root_admin, station_admin, volunteer, now=…)``: the station (崇川区志愿者协会) offers three
gifts, the volunteer gets points to spend, and the station writes two articles (a plain coloured
600×420 cover each) that the root admin reviews and publishes.  Does not commit.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from PIL import Image

from jobs.storage import storage
from models import PointEntry, articles, db, gifts, points

from ... import clock
from ...config import settings

GIFTS = [
    ("爱心保温杯", "不锈钢保温杯一只，500毫升", 20, 10),
    ("志愿者马甲", "江海志愿统一马甲，领取时请说明尺码", 50, 5),
    ("免费理发一次", "和平桥社区理发室提供，凭兑换码到店", 10, 30),
]
ARTICLES = [
    ("guide", "新志愿者第一次参加活动要注意什么", (46, 125, 50),
     "报名被录取后，请留意活动前一天的确认提醒，能去就点确认参加，去不了就点不能参加，名额会让给候补的伙伴。\n"
     "活动当天提前十分钟到场，在项目页面点签到；双签活动结束时记得签退。"),
    ("reading", "崇川区志愿者走进和平桥社区", (198, 40, 40),
     "三月五日，崇川区志愿者协会组织志愿者走进和平桥社区，为老人义务理发、测量血压，服务群众两百余人次。"),
]


def _cover(name: str, colour) -> str:
    encoded = io.BytesIO()
    Image.new("RGB", articles.COVER_SIZE, colour).save(encoded, "JPEG")
    storage().put(f"articles/{name}", encoded.getvalue(), "image/jpeg")
    return f"articles/{name}"


def seed_home(root_admin, station_admin, volunteer, *, now) -> None:
    today = clock.local(now).date()
    for name, description, cost, stock in GIFTS:
        gifts.offer_gift(station_admin, {"name": name, "description": description, "cost": cost, "stock": stock,
                                         "valid_from": today, "valid_until": today + timedelta(days=90),
                                         "place": "崇川区志愿者协会服务台（工作日9:00-17:00）"},
                         now=now, tz=settings().app.timezone)
    db.session.add(PointEntry(volunteer_id=volunteer.id, amount=Decimal(60), reason=points.R_SERVICE,
                              note="演示积分", created_at=now))
    for n, (category, title, colour, body) in enumerate(ARTICLES):
        written = articles.write(station_admin, {"category": category, "title": title, "source": "", "body": body},
                                 cover=_cover(f"demo-{n}.jpg", colour), pictures=[], now=now)
        articles.review(root_admin, written.id, True, now=now)

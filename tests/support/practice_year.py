"""A generated year of 文明实践 activities for the statistics (图4-15): ``centres`` practice centres, each with
its 实践所 and 实践站 (each run by an org of its own), monthly targets, and ``activities`` approved practice
projects spread over the year, plus some pending ones (never counted) and some ending at a local month's
last minutes (counted in that month, though in UTC they fall on the day before's evening or the next day).

Bulk inserts (the model functions would take hours for 104,400 projects).  ``generate`` returns the
truth counted while generating — the direct recount the statistics are checked against:
``truth[(place_id, month)] = [planned, done, participants]`` for each place's own figures.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

TZ = ZoneInfo("Asia/Shanghai")


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=TZ).astimezone(UTC).replace(tzinfo=None)


def generate(*, year: int, activities: int, centres: int = 9, institutes: int = 10, stations: int = 5,
             seed: int = 17, chunk: int = 5000) -> dict:
    """Insert the tree, targets and activities; commit; return ``{"places": [...], "truth": {...}}``."""
    from models import Organization, Project, db
    from models.practice.tables import Place, PracticeProject, Target

    rnd = random.Random(seed)
    now = datetime(year, 1, 1)
    next_org = (db.session.query(db.func.max(Organization.id)).scalar() or 0) + 1
    next_place = (db.session.query(db.func.max(Place.id)).scalar() or 0) + 1
    orgs, places = [], []  # places: (id, parent_id, level, path)

    def add(level: int, parent_org: dict | None, parent_place: tuple | None, name: str) -> tuple:
        nonlocal next_org, next_place
        org_id, place_id = next_org, next_place
        next_org, next_place = next_org + 1, next_place + 1
        org_path = (parent_org["path"] if parent_org else "/") + f"{org_id}/"
        org = {"id": org_id, "parent_id": parent_org["id"] if parent_org else None, "level": level + 1,
               "path": org_path, "name": f"{name}志愿服务队", "org_type": "民间公益", "region": "崇川区",
               "status": "active", "service_domains_text": "|文明实践|", "address": "", "intro": "",
               "contact_name": "", "contact_phone": ""}
        orgs.append(org)
        path = (parent_place[3] if parent_place else "/") + f"{place_id}/"
        place = (place_id, parent_place[0] if parent_place else None, level, path, name, org)
        places.append(place)
        return place

    for c in range(centres):
        centre = add(1, None, None, f"第{c + 1}新时代文明实践中心")
        for i in range(institutes):
            institute = add(2, centre[5], centre, f"第{c + 1}-{i + 1}新时代文明实践所")
            for s in range(stations):
                add(3, institute[5], institute, f"第{c + 1}-{i + 1}-{s + 1}新时代文明实践站")
    db.session.execute(insert(Organization), orgs)
    db.session.execute(insert(Place), [
        {"id": pid, "parent_id": parent, "level": level, "path": path, "name": name, "org_id": org["id"],
         "region": "崇川区", "intro": "", "phone": "", "address": "", "organiser": "", "leaders": "",
         "rules_text": "", "created_at": now} for pid, parent, level, path, name, org in places])
    truth: dict = {}
    targets = []
    for pid, *_rest in places:
        for month in range(1, 13):
            planned = rnd.randint(0, 40)
            targets.append({"place_id": pid, "year": year, "month": month, "planned": planned})
            truth[(pid, month)] = [planned, 0, 0]
    db.session.execute(insert(Target), targets)
    db.session.commit()

    base = {"name": "文明实践活动", "short_name": "文明实践", "recruit_count": 30, "scope": "all", "needs_review": False,
            "category": "文明实践", "service_targets_text": "", "topic": "新时代文明实践", "region": "崇川区",
            "region_detail": "", "place": "实践站", "latitude": 32.0, "longitude": 120.86, "description": "",
            "requirements": "", "contact_name": "", "contact_phone": "", "daily_start": time(9, 0),
            "daily_end": time(11, 0), "checkin_mode": "double", "punch_radius": 500, "checkout_mode": "central"}
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    rows = []
    for n in range(activities):
        pid, _parent, _level, _path, _name, org = places[rnd.randrange(len(places))]
        day = first + timedelta(days=rnd.randrange(days))
        end_local = datetime.combine(day, time(23, 45) if n % 50 == 0 else time(11, 0))  # some near midnight
        approved = n % 40 != 0  # one in forty still pending review: never done
        people = rnd.randint(0, 30)
        start_local = datetime.combine(day, time(9, 0))
        rows.append({**base, "org_id": org["id"], "accepted_count": people, "signup_start": day, "signup_end": day,
                     "start_date": day, "end_date": day, "signup_opens_at": _utc(start_local) - timedelta(days=3),
                     "signup_closes_at": _utc(end_local), "starts_at": _utc(start_local), "ends_at": _utc(end_local),
                     "status": "approved" if approved else "pending", "published_at": now, "_place": pid})
        if approved:
            cell = truth[(pid, day.month)]
            cell[1] += 1
            cell[2] += people
        if len(rows) == chunk or n == activities - 1:
            ids = db.session.execute(insert(Project).returning(Project.id),
                                     [{k: v for k, v in r.items() if k != "_place"} for r in rows]).scalars().all()
            db.session.execute(insert(PracticeProject), [{"project_id": i, "place_id": r["_place"], "order_id": None}
                                                         for i, r in zip(ids, rows, strict=True)])
            db.session.commit()
            rows = []
    return {"places": [(pid, parent, level, path) for pid, parent, level, path, _n, _o in places], "truth": truth}


def rolled_up(generated: dict, months: range) -> dict:
    """The truth rolled up the tree by the paths: place id → (planned, done, participants) over ``months``."""
    out = {pid: [0, 0, 0] for pid, *_ in generated["places"]}
    for pid, _parent, _level, path in generated["places"]:
        lineage = [int(i) for i in path.strip("/").split("/")]
        for month in months:
            cell = generated["truth"][(pid, month)]
            for ancestor in lineage:
                for k in range(3):
                    out[ancestor][k] += cell[k]
    return {pid: tuple(v) for pid, v in out.items()}

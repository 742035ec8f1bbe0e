"""The demo city that ``make run`` shows in the sandbox: built once, on an empty database.

Everything is made through the same model functions the pages use.  The demo people and their
passwords are listed in the README; the sandbox phone's default openids are bound to them.
"""

from __future__ import annotations

import logging
from datetime import date

from jobs.admin_tags import sync_admin_tag
from models import Binding, OrgAdmin, Volunteer, db, volunteer_qr
from models.accounts import volunteer_number
from models.membership import approve_members, join_org

from ... import clock
from ...config import settings
from .attendance import seed_attendance
from .help import seed_help
from .home import seed_home
from .orgs import seed_orgs
from .practice import seed_practice
from .projects import seed_projects
from .wishes import seed_wishes

log = logging.getLogger(__name__)

DEMO_PASSWORD = "jianghai2024"
# (name, gender, birth date, ID number with a real check digit, phone, sandbox openid).  The cards keep
# the code of first issue: 320611 is the former 港闸区 (merged into 崇川区 in 2020), 320683 the former
# 通州市 (通州区 since 2009).
DEMO_PEOPLE = [
    ("张亚林", "M", date(1985, 7, 7), "32060219850707011X", "13962805656", "o_demo_admin"),
    ("李桂芳", "F", date(1956, 10, 12), "320611195610120229", "15190612357", "o_demo_volunteer"),
    ("王建华", "M", date(1972, 3, 18), "320683197203180313", "18051327709", "o_demo_station"),
]
DEMO_OPENIDS = [openid for *_, openid in DEMO_PEOPLE] + ["o_demo_elder"]


def seed_demo() -> bool:
    """Seed when no volunteer exists yet; True if it seeded.

    Its admins are made through the org rules, so the commit hands them to the job that tags them
    (``jobs.admin_tags``): once the jobs have run, the demo admins see the admin menu.
    """
    if db.session.query(Volunteer.id).first() is not None:
        return False
    log.info("seeding the demo city")
    account = settings().main_account.name
    prefix = settings().app.volunteer_number_prefix
    people = {}
    for name, gender, born, id_number, phone, openid in DEMO_PEOPLE:
        volunteer = Volunteer(number=volunteer_number(prefix), name=name, gender=gender, birth_date=born,
                              id_type="mainland_id", qr_token=volunteer_qr.new_token())
        volunteer.set_id_number(id_number)
        volunteer.set_phone(phone)
        volunteer.set_password(DEMO_PASSWORD)
        db.session.add(volunteer)
        db.session.flush()
        db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id, bound_at=clock.now()))
        people[openid] = volunteer
    now = clock.now()
    orgs = seed_orgs(people["o_demo_admin"], [people["o_demo_station"]], now=now)
    join_org(people["o_demo_volunteer"], orgs["hepingqiao"].id, now=now)
    approve_members(people["o_demo_admin"], orgs["hepingqiao"].id, [people["o_demo_volunteer"].id], now=now)
    tz = settings().app.timezone
    projects = seed_projects(orgs, now=now, tz=tz)
    seed_attendance(projects, [people["o_demo_volunteer"], people["o_demo_station"]], now=now, tz=tz)
    seed_wishes(people["o_demo_admin"], people["o_demo_volunteer"], account=account, now=now)
    seed_help(people["o_demo_station"], people["o_demo_admin"], [people["o_demo_volunteer"], people["o_demo_station"]],
              account=account, now=now)
    seed_home(people["o_demo_admin"], people["o_demo_station"], people["o_demo_volunteer"], now=now)
    seed_practice(orgs, people["o_demo_admin"], account=account, elder_openid="o_demo_elder", now=now,
                  today=clock.today())
    db.session.commit()
    return True


def restore_admin_tags() -> int:
    """Tag every admin again through the same job; how many volunteers were handed to it.

    The sandbox keeps WeChat's user tags in memory, so a restart of ``make run`` forgets them while
    the database still knows who is an admin.  The job reads that state (tag or untag) itself.
    """
    volunteer_ids = db.session.scalars(db.select(OrgAdmin.volunteer_id).distinct()).all()
    for volunteer_id in volunteer_ids:
        sync_admin_tag.now(volunteer_id)
    return len(volunteer_ids)

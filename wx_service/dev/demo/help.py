"""一喊就来 demo: an approved seeker bound to the sandbox openid ``o_demo_elder`` on the main account,
paired with the demo volunteers — so the sandbox phone can send a voice note as the elder and see the
paired volunteers' template messages.

Built through the model rules: the station admin registers the seeker, the approver (an admin of an
org above the station, or the station's own admin when the station is the root) approves it.
Does not commit.
"""

from __future__ import annotations

from models import db
from models import help_seeker as hs

from ... import clock
from ...config import settings

ELDER_OPENID = "o_demo_elder"
# Born 1941, her card carries 崇川区's 320602 (a code from 1983, when cards came).
ELDER = {"name": "王秀英", "id_number": "320602194104060023", "address": "南通市崇川区和平桥街道和平桥新村5幢102室",
         "phone": "0513-85123456", "mobile": "13813761402", "emergency_name": "王建国",
         "emergency_phone": "13962873318", "notes": "独居老人，腿脚不便，耳朵有点背"}


def seed_help(station_admin, approver, volunteers, *, account: str | None = None, now=None) -> hs.HelpSeeker:
    """Register, approve and bind the demo elder; ``volunteers`` (Volunteer rows) are paired."""

    now = now or clock.now()
    account = account or settings().main_account.name
    seeker = hs.add_seeker(station_admin, ELDER, ",".join(v.number for v in volunteers), now=now)
    hs.review_seeker(approver, seeker.id, True, now=now)
    hs.SeekerBinding.query.filter_by(account=account, openid=ELDER_OPENID).delete(synchronize_session=False)
    db.session.add(hs.SeekerBinding(account=account, openid=ELDER_OPENID, seeker_id=seeker.id, bound_at=now))
    db.session.flush()
    return seeker

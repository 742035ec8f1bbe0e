"""打卡签到 (单签 / 双签) and 扫码辅助签到: the punches that open, close and record a cycle.

Manual part 2 §二.9–10, §三.13(3); part 3 §二.7–8.  Every function takes ``now`` (naive UTC);
days and daily windows are local to ``Rules.tz``.  A sign-out is a conditional UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from .. import closure, positions
from .. import hours as hour_rules
from ..base import RuleViolation, db, insert_or_refuse, insert_unique, won
from ..integrity import audit_log, codes
from ..integrity.tables import A_DESK_PUNCH, A_SCAN_ASSIST
from ..organization import ACTIVE, Organization, admin_org_of, subtree_of
from ..points import R_MAKEUP, R_SERVICE, PointEntry
from ..project import (
    APPROVED,
    DEFAULT_TZ,
    DOUBLE,
    SCATTERED,
    SINGLE,
    Project,
    ProjectSite,
    ProjectTempAdmin,
    can_manage_project,
    get_project,
    local_now,
    require_project,
    to_utc,
)
from ..signup import ACCEPTED, Signup
from ..stats import rollup
from ..volunteer import Volunteer
from .tables import (
    CHECKOUT_GRACE,
    LAPSED,
    MIN_CYCLE,
    OPEN,
    PUBLICITY_DAYS,
    PUNCH_IN,
    PUNCH_OUT,
    PUNCH_SINGLE,
    RECORDED,
    SOURCE_DESK,
    SOURCE_MAKEUP,
    SOURCE_PAGE,
    SOURCE_SCAN,
    TWO,
    UNPAIRED,
    Cycle,
    Punch,
)

DEFAULT_OFFLINE_GRACE_MINUTES = 30


@dataclass(frozen=True)
class Rules:
    """The configurable parts: the rules' zone, the hours rounding rule, points per 双签 hour."""

    tz: str = DEFAULT_TZ
    rounding: str = hour_rules.DEFAULT_RULE
    points_per_hour: Decimal = Decimal(1)
    offline_grace: timedelta = timedelta(minutes=DEFAULT_OFFLINE_GRACE_MINUTES)  # how old an offline punch may be when it arrives


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Extras:
    """What a punch carries beyond its position (integrity): the fix's age, the on-site code scanned
    (checked with ``code_key``), when it was received if sent late (offline), the page's id for it,
    and where an admin's punch came from (the audit)."""

    fix_age_s: float | None = None
    onsite_code: str | None = None
    code_key: bytes = b""
    received_at: datetime | None = None
    client_ref: str | None = None
    origin: audit_log.Origin | None = None


NO_EXTRAS = Extras()


# ------------------------------------------------------------------------------------ time
def window(project: Project, day: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """The day's 每日有效计时区段 as UTC instants."""
    return to_utc(day, project.daily_start, tz), to_utc(day, project.daily_end, tz)


def local_hm(moment: datetime, tz: str) -> str:
    return local_now(moment, tz).strftime("%H:%M")


def _local_text(moment: datetime, tz: str) -> str:
    return local_now(moment, tz).strftime("%Y-%m-%d %H:%M")


def publicity_end(recorded_at: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """公示期: the rest of the recording day and the 7 natural days after it (ends at local midnight)."""
    return to_utc(local_now(recorded_at, tz).date() + timedelta(days=PUBLICITY_DAYS + 1), time(0, 0), tz)


def activity_days(project: Project) -> list[date]:
    return [project.start_date + timedelta(days=n) for n in range((project.end_date - project.start_date).days + 1)]


# ---------------------------------------------------------------------------------- places
def nearest_site(project: Project, position: positions.Position) -> tuple[ProjectSite | None, float | None]:
    """The project's site nearest to ``position`` and its distance in metres (sites are gcj02)."""
    best, best_distance = None, None
    for site in project.sites:
        distance = positions.distance_m(position, positions.Position(site.latitude, site.longitude))
        if best_distance is None or distance < best_distance:
            best, best_distance = site, distance
    return best, best_distance


def check_within_radius(project: Project, position: positions.Position | None, what: str) -> tuple:
    """打卡范围 (双签): within the punch radius of any site; the refusal says by how much it is not."""
    if position is None:
        raise RuleViolation("position_required", f"{what}需要获取您的位置，请允许获取位置后重试。")
    site, distance = nearest_site(project, position)
    if site is None:
        raise RuleViolation("no_site", "该项目尚未设置活动位置，请联系管理员定位。", 409)
    radius = project.punch_radius or 0
    if distance > radius:
        accuracy = f"，定位精度约{position.accuracy:.0f}米" if position.accuracy is not None else ""
        raise RuleViolation(
            "too_far", f"您距离活动地点约{distance:.0f}米，超出打卡范围（{radius}米）{distance - radius:.0f}米{accuracy}，"
                       f"请到活动现场{what}。", 409)
    return site, distance


# ------------------------------------------------------------------------------- the rules
def require_accepted(signup: Signup | None) -> Signup:
    if signup is None or signup.state != ACCEPTED:
        raise RuleViolation("not_accepted", "只有已录取的志愿者才能在该项目打卡。", 403)
    return signup


def _open_project(project_id: int) -> Project:
    project = get_project(project_id)
    if project.status != APPROVED:
        raise RuleViolation("project_not_open", "该项目尚未通过审核，不能打卡。", 409)
    return project


def open_project_and_signup(project_id: int, volunteer_id: int) -> tuple[Project, Signup | None]:
    """``_open_project`` and the volunteer's signup on it (None if none), read in one query: the row
    puts the project in the session, where ``get_project`` then finds it without another."""
    row = db.session.execute(
        select(Project, Signup).outerjoin(Signup, (Signup.project_id == Project.id)
                                          & (Signup.volunteer_id == volunteer_id))
        .where(Project.id == project_id)).first() if project_id else None
    return _open_project(project_id), (row[1] if row else None)


def check_punch_time(project: Project, now: datetime, tz: str, *, grace: timedelta = timedelta(0)) -> date:
    """Inside the day's window on an activity day (``grace`` after its end for a sign-out); the local day."""
    today = local_now(now, tz).date()
    if today < project.start_date:
        raise RuleViolation("not_started", f"活动尚未开始，{project.start_date:%Y-%m-%d} "
                                           f"{project.daily_start:%H:%M} 起可以打卡。", 409)
    if today > project.end_date:
        raise RuleViolation("activity_over", "活动已结束，不能再打卡。", 409)
    opens, closes = window(project, today, tz)
    if now < opens:
        raise RuleViolation("too_early", f"还未到打卡时间，今天 {project.daily_start:%H:%M} 起可以打卡。", 409)
    if now > closes + grace:
        latest = local_hm(closes + grace, tz)
        raise RuleViolation("too_late", f"今天的打卡时间已过（{latest} 截止）。", 409)
    return today


def new_cycle(project, volunteer_id, day, now, *, mode, source, state, **values) -> Cycle:
    return Cycle(project_id=project.id, project=project, volunteer_id=volunteer_id, day=day, mode=mode,
                 source=source, state=state, created_at=now, points=Decimal(0), **values)


def _punch_row(cycle, kind, now, position, site=None, distance=None, by_id=None, source=SOURCE_PAGE,
               extras: Extras = NO_EXTRAS, code_at: datetime | None = None, rules: Rules = DEFAULT_RULES) -> Punch:
    punch = Punch(cycle_id=cycle.id, kind=kind, at=now, source=source, by_id=by_id,
                  latitude=position.latitude if position else None, longitude=position.longitude if position else None,
                  accuracy=position.accuracy if position else None, distance_m=distance,
                  site_id=site.id if site else None, fix_age_s=extras.fix_age_s, onsite_code_at=code_at,
                  received_at=extras.received_at, client_ref=extras.client_ref)
    db.session.add(punch)
    if position is not None or (code_at is not None and extras.received_at is not None):
        from ..integrity.flags import record_flags  # stands above attendance: imported when first needed

        db.session.flush()
        radius = cycle.project.punch_radius if cycle.mode == DOUBLE else None
        record_flags(punch, cycle, radius, lambda moment: local_now(moment, rules.tz).date())
    return punch


def onsite_code_at(project: Project, day: date, extras: Extras, now: datetime, *, required: bool) -> datetime | None:
    """现场签到码: checked when one was scanned; a 双签 project may require it (``require_onsite_code``)."""
    if extras.onsite_code or (required and project.require_onsite_code and project.checkin_mode == DOUBLE):
        return codes.check_onsite_code(extras.code_key, extras.onsite_code, project.id, day, now)
    return None


def mark_first_checkin(project: Project, signup: Signup | None, now: datetime) -> None:
    """Project.first_checkin_at and Signup.first_checkin_at, set once (they gate deletion and cancelling).

    The project's first check-in makes it count in the statistics (``closure.first_checkin``).
    """
    if project.first_checkin_at is None:
        if won(update(Project).where(Project.id == project.id, Project.first_checkin_at.is_(None))
               .values(first_checkin_at=now)):
            closure.first_checkin(project)
    if signup is not None and signup.first_checkin_at is None:
        db.session.execute(update(Signup).where(Signup.id == signup.id, Signup.first_checkin_at.is_(None))
                           .values(first_checkin_at=now).execution_options(synchronize_session=False))


def _enter_publicity(cycle: Cycle, now: datetime, tz: str) -> None:
    cycle.recorded_at = now
    cycle.public_until = publicity_end(now, tz)


def credit_cycle(cycle: Cycle, now: datetime, rules: Rules) -> None:
    """A recorded cycle enters publicity; a 双签 cycle earns points (hours × rate) in the ledger.

    The ledger row says which: 双签 punched on site (``service``) or approved by 补签 (``makeup_service``).
    """
    _enter_publicity(cycle, now, rules.tz)
    if cycle.mode == DOUBLE and cycle.hours:
        points = (Decimal(cycle.hours) * Decimal(rules.points_per_hour)).quantize(TWO)
        if points > 0:
            cycle.points = points
            reason = R_MAKEUP if cycle.source == SOURCE_MAKEUP else R_SERVICE
            db.session.add(PointEntry(volunteer_id=cycle.volunteer_id, amount=points, reason=reason,
                                      cycle_id=cycle.id, note=cycle.project.name[:200], created_at=now))


def lapse_expired(now: datetime, volunteer_id: int | None = None) -> int:
    """An open sign-in whose sign-out deadline passed lapses without hours (补签 is the remedy)."""
    query = update(Cycle).where(Cycle.state == OPEN, Cycle.deadline < now)
    if volunteer_id is not None:
        query = query.where(Cycle.volunteer_id == volunteer_id)
    result = db.session.execute(query.values(state=LAPSED, lapsed_at=now, open_volunteer_id=None)
                                .execution_options(synchronize_session="fetch"))
    return result.rowcount


def open_cycle_of(volunteer_id: int) -> Cycle | None:
    return Cycle.query.filter_by(open_volunteer_id=volunteer_id).one_or_none()


#: the refusal of a punch of the other mode: a 单签 punch on a 双签 project, a 签到 on a 单签 one
_OTHER_MODE = {SINGLE: ("not_single", "该项目为签到/签退项目，请分别签到和签退。", 409),
               DOUBLE: ("not_double", "该项目为单签项目，每天打卡一次即可。", 409)}


def _opening_punch(volunteer: Volunteer, project_id: int, mode: str, *, now: datetime, rules: Rules,
                   extras: Extras, code_required: bool):
    """What a 单签 punch and a 签到 check first: the project open and of ``mode``, the volunteer accepted,
    ``now`` inside the day's window, and the on-site code when required: ``(project, signup, day, code_at)``."""
    project, signup = open_project_and_signup(project_id, volunteer.id)
    if project.checkin_mode != mode:
        raise RuleViolation(*_OTHER_MODE[mode])
    require_accepted(signup)
    day = check_punch_time(project, now, rules.tz)
    return project, signup, day, onsite_code_at(project, day, extras, now, required=code_required)


def punch_single(volunteer: Volunteer, project_id: int, position: positions.Position | None, *, now: datetime,
                 rules: Rules = DEFAULT_RULES, by: Volunteer | None = None, desk: bool = False,
                 extras: Extras = NO_EXTRAS) -> Cycle:
    """单签: one punch per day inside the window; credits the preset hours; position recorded, not enforced.

    The cycle is recorded at once: it enters publicity in its INSERT (a 单签 cycle earns no points).
    """
    project, signup, day, code_at = _opening_punch(volunteer, project_id, SINGLE, now=now, rules=rules,
                                                   extras=extras, code_required=by is None)
    site, distance = nearest_site(project, position) if position is not None else (None, None)
    hours = Decimal(str(project.preset_hours)).quantize(TWO)
    source = SOURCE_DESK if desk else SOURCE_SCAN if by is not None else SOURCE_PAGE
    cycle = new_cycle(project, volunteer.id, day, now, mode=SINGLE, source=source, state=RECORDED,
                       signed_in_at=now, hours=hours, single_day=day)
    _enter_publicity(cycle, now, rules.tz)
    insert_or_refuse(cycle, "already_punched", "今天已经打过卡了（单签项目每天打卡一次）。")
    _punch_row(cycle, PUNCH_SINGLE, now, position, site, distance, by.id if by else None, source, extras, code_at,
               rules)
    mark_first_checkin(project, signup, now)
    if by is not None:
        audit_log.record(A_DESK_PUNCH if desk else A_SCAN_ASSIST, now=now, actor_id=by.id, project=project,
                         volunteer_id=volunteer.id, cycle_id=cycle.id, hours=hours, origin=extras.origin,
                         detail="单签")
    rollup.cycle_counted(cycle)
    db.session.flush()
    return cycle


def sign_in(volunteer: Volunteer, project_id: int, position: positions.Position | None, *, now: datetime,
            rules: Rules = DEFAULT_RULES, desk_by: Volunteer | None = None, extras: Extras = NO_EXTRAS) -> Cycle:
    """双签 签到: from the day's window start to its end, within the radius of a site, with no other
    sign-in open (an open one past its deadline lapses first).  A desk punch (``desk_by``, the admin
    at the 服务台 on site) needs neither the radius nor the on-site code; it is audited."""
    project, signup, day, code_at = _opening_punch(volunteer, project_id, DOUBLE, now=now, rules=rules,
                                                   extras=extras, code_required=desk_by is None)
    if desk_by is None:
        site, distance = check_within_radius(project, position, "签到")
    else:
        site, distance = nearest_site(project, position) if position is not None else (None, None)
    _, closes = window(project, day, rules.tz)
    source = SOURCE_DESK if desk_by is not None else SOURCE_PAGE
    cycle = new_cycle(project, volunteer.id, day, now, mode=DOUBLE, source=source, state=OPEN,
                       signed_in_at=now, deadline=closes + CHECKOUT_GRACE, open_volunteer_id=volunteer.id)
    if not _insert_open_cycle(cycle):
        # One is open already: if it is past its deadline it lapses, and this one goes in.  (Most
        # sign-ins find none open, so the lapse's UPDATE waits until the insert has met one.)
        if not lapse_expired(now, volunteer.id) or not _insert_open_cycle(cycle):
            _refuse_open(volunteer.id, project, rules)
    _punch_row(cycle, PUNCH_IN, now, position, site, distance, desk_by.id if desk_by else None, source, extras,
               code_at, rules)
    mark_first_checkin(project, signup, now)
    if desk_by is not None:
        audit_log.record(A_DESK_PUNCH, now=now, actor_id=desk_by.id, project=project, volunteer_id=volunteer.id,
                         cycle_id=cycle.id, origin=extras.origin, detail="双签 签到")
    db.session.flush()
    return cycle


def _insert_open_cycle(cycle: Cycle) -> bool:
    """Insert a sign-in; False when the volunteer has one open already (the unique column says so)."""
    return insert_unique(cycle)


def _refuse_open(volunteer_id: int, project: Project, rules: Rules):
    other = open_cycle_of(volunteer_id)
    if other is None:  # it was closed meanwhile; the caller may try again
        raise RuleViolation("sign_in_busy", "签到未完成，请重试。", 409)
    if other.project_id == project.id:
        raise RuleViolation("already_signed_in", f"您已于 {local_hm(other.signed_in_at, rules.tz)} 签到，请在活动结束时签退。",
                            409)
    raise RuleViolation("open_elsewhere", f"您在“{other.project.name}”的签到尚未签退，请先签退"
                                          f"（或于 {local_hm(other.deadline, rules.tz)} 后再签到）。", 409)


def sign_out(volunteer: Volunteer, project_id: int, position: positions.Position | None, *, now: datetime,
             rules: Rules = DEFAULT_RULES, desk_by: Volunteer | None = None, extras: Extras = NO_EXTRAS) -> Cycle:
    """双签 签退: ≥ 30 minutes after the sign-in, ≤ 30 minutes after the day's window end, within the
    radius unless 分散签出.  The cycle's hours are rounded by ``rules.rounding`` and enter publicity.

    Without an open sign-in the sign-out is still recorded (an ``unpaired`` cycle without hours), so
    that a forgotten sign-in can be made up (补签到) against it.
    """
    project, signup = open_project_and_signup(project_id, volunteer.id)
    if project.checkin_mode != DOUBLE:
        raise RuleViolation("not_double", "该项目为单签项目，每天打卡一次即可。", 409)
    require_accepted(signup)
    cycle = Cycle.query.filter_by(open_volunteer_id=volunteer.id, project_id=project.id).one_or_none()
    if cycle is not None and cycle.deadline < now:
        lapse_expired(now, volunteer.id)
        raise RuleViolation("sign_out_too_late", f"已超过签退截止时间（{local_hm(cycle.deadline, rules.tz)}），"
                                                 "本次签到已失效，如确实参加了活动请申请补签。", 409)
    if cycle is None:
        day = check_punch_time(project, now, rules.tz, grace=CHECKOUT_GRACE)
    else:
        day = cycle.day
        if now < cycle.signed_in_at + MIN_CYCLE:
            raise RuleViolation("sign_out_too_early", f"签到30分钟后才能签退，请于 "
                                                      f"{local_hm(cycle.signed_in_at + MIN_CYCLE, rules.tz)} 后再签退。", 409)
    code_at = onsite_code_at(project, day, extras, now, required=desk_by is None)
    site = distance = None
    if project.checkout_mode == SCATTERED or desk_by is not None:
        if position is not None:
            site, distance = nearest_site(project, position)
    else:
        site, distance = check_within_radius(project, position, "签退")
    source, by_id = (SOURCE_DESK, desk_by.id) if desk_by is not None else (SOURCE_PAGE, None)
    if cycle is None:
        orphan = new_cycle(project, volunteer.id, day, now, mode=DOUBLE, source=source, state=UNPAIRED,
                            signed_out_at=now)
        db.session.add(orphan)
        db.session.flush()
        _punch_row(orphan, PUNCH_OUT, now, position, site, distance, by_id, source, extras, code_at, rules)
        mark_first_checkin(project, signup, now)
        db.session.flush()
        return orphan
    hours = hour_rules.cycle_hours(cycle.signed_in_at, now, rules.rounding)
    if not won(update(Cycle).where(Cycle.id == cycle.id, Cycle.state == OPEN)
               .values(state=RECORDED, signed_out_at=now, hours=hours, open_volunteer_id=None)):
        raise RuleViolation("not_signed_in", "您的签到已签退或已失效。", 409)
    db.session.refresh(cycle)
    credit_cycle(cycle, now, rules)
    _punch_row(cycle, PUNCH_OUT, now, position, site, distance, by_id, source, extras, code_at, rules)
    if desk_by is not None:
        audit_log.record(A_DESK_PUNCH, now=now, actor_id=desk_by.id, project=project, volunteer_id=volunteer.id,
                         cycle_id=cycle.id, hours=hours, origin=extras.origin, detail="双签 签退")
    rollup.cycle_counted(cycle)
    db.session.flush()
    return cycle


def punch(volunteer: Volunteer, project_id: int, action: str, position: positions.Position | None, *,
          now: datetime, rules: Rules = DEFAULT_RULES, extras: Extras = NO_EXTRAS) -> Cycle:
    """The check-in page's button: ``single``, ``sign_in`` or ``sign_out``."""
    if action == "single":
        return punch_single(volunteer, project_id, position, now=now, rules=rules, extras=extras)
    if action == "sign_in":
        return sign_in(volunteer, project_id, position, now=now, rules=rules, extras=extras)
    if action == "sign_out":
        return sign_out(volunteer, project_id, position, now=now, rules=rules, extras=extras)
    raise RuleViolation("action_invalid", "未知的打卡操作。")


def cycles_of_day(project_id: int, volunteer_id: int, day: date) -> list[Cycle]:
    return (Cycle.query.filter_by(project_id=project_id, volunteer_id=volunteer_id, day=day)
            .order_by(Cycle.id).all())

def managed_project_ids(actor: Volunteer):
    own = admin_org_of(actor.id)
    if own is None or own.status != ACTIVE:
        return None
    return select(Project.id).where(Project.org_id.in_(select(Organization.id).where(subtree_of(own))))

# ------------------------------------------------------------------------ scan assist
def _running_single_projects(actor: Volunteer, volunteer_id: int, *, now: datetime,
                             tz: str) -> list[tuple[Project, bool]]:
    """The 单签 projects ``actor`` may scan for whose window is open now (their org subtree, or temp
    admin), each with whether the volunteer ``volunteer_id`` is accepted on it: one query."""
    own = admin_org_of(actor.id)
    conditions = [Project.id.in_(select(ProjectTempAdmin.project_id).where(ProjectTempAdmin.volunteer_id == actor.id))]
    if own is not None and own.status == ACTIVE:
        conditions.append(Project.org_id.in_(select(Organization.id).where(subtree_of(own))))
    today = local_now(now, tz).date()
    accepted = select(Signup.id).where(Signup.project_id == Project.id, Signup.volunteer_id == volunteer_id,
                                       Signup.state == ACCEPTED).exists()
    candidates = db.session.execute(
        select(Project, accepted).where(db.or_(*conditions), Project.status == APPROVED,
                                        Project.checkin_mode == SINGLE, Project.start_date <= today,
                                        Project.end_date >= today)
        .order_by(Project.starts_at, Project.id)).all()
    out = []
    for project, is_accepted in candidates:
        opens, closes = window(project, today, tz)
        if opens <= now <= closes and can_manage_project(actor, project, "scan_assist", now=now):
            out.append((project, is_accepted))
    return out


def may_scan(actor: Volunteer | None, *, now: datetime) -> bool:
    """Is ``actor`` an admin of an approved org or a temporary admin of some project?"""
    if actor is None:
        return False
    own = admin_org_of(actor.id)
    if own is not None and own.status == ACTIVE:
        return True
    return db.session.scalar(select(db.func.count()).select_from(ProjectTempAdmin)
                             .where(ProjectTempAdmin.volunteer_id == actor.id)) > 0


def scan_targets(actor: Volunteer, volunteer: Volunteer, *, now: datetime, tz: str = DEFAULT_TZ) -> list[Project]:
    """The running 单签 projects of ``actor`` in which the scanned volunteer is accepted."""
    projects = _running_single_projects(actor, volunteer.id, now=now, tz=tz)
    if not projects:
        raise RuleViolation("no_running_project", "您管理的项目当前没有正在进行打卡的单签活动。", 409)
    targets = [project for project, accepted in projects if accepted]
    if not targets:
        raise RuleViolation("not_accepted", f"{volunteer.masked_name}未被录取参加您正在进行的单签活动。", 409)
    return targets


def scan_assist(actor: Volunteer, project_id: int, volunteer: Volunteer | None, *, now: datetime,
                rules: Rules = DEFAULT_RULES, position: positions.Position | None = None,
                origin: audit_log.Origin | None = None) -> Cycle:
    """管理员辅助签到扫码 (单签 only): an admin of the project's org subtree, or its temporary admin,
    signs the scanned volunteer in."""
    project = get_project(project_id)
    require_project(actor, project, "scan_assist", now=now)
    if project.checkin_mode != SINGLE:
        raise RuleViolation("scan_single_only", "扫码签到仅适用于单签项目。", 409)
    if volunteer is None:
        raise RuleViolation("qr_invalid", "无法识别该二维码，请扫描志愿者的“我的二维码”。", 400)
    return punch_single(volunteer, project.id, position, now=now, rules=rules, by=actor, extras=Extras(origin=origin))


def cycles_today(volunteer_id: int, project_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> list[Cycle]:
    return cycles_of_day(project_id, volunteer_id, local_now(now, tz).date())


def checkin_projects(volunteer_id: int, *, now: datetime) -> list[Project]:
    """打卡签到: the volunteer's accepted projects in 进行 phase."""
    return (Project.query.join(Signup, Signup.project_id == Project.id)
            .filter(Signup.volunteer_id == volunteer_id, Signup.state == ACCEPTED, Project.status == APPROVED,
                    Project.starts_at <= now, Project.ends_at >= now)
            .order_by(Project.starts_at, Project.id).all())



def rules_from(tz: str, rounding: str, points_per_hour: float,
               offline_grace_minutes: int = DEFAULT_OFFLINE_GRACE_MINUTES) -> Rules:
    """``Rules`` from the configured zone and the ``[attendance]`` keys (a float of points made exact)."""
    return Rules(tz=tz, rounding=rounding, points_per_hour=Decimal(str(points_per_hour)),
                 offline_grace=timedelta(minutes=offline_grace_minutes))


def rules_of(settings) -> Rules:
    """``Rules`` of a ``Settings`` (the faces pass theirs in: the models never read the configuration)."""
    attendance = settings.attendance
    return rules_from(settings.app.timezone, attendance.rounding, attendance.points_per_hour,
                      attendance.offline_grace_minutes)

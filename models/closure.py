"""项目结项: a finished project's summary (小结) and photos; a 双签 project counts only once closed.

Manual part 2 §三.19: "双签项目必须结项，否则视为无效（不影响参与志愿者的服务数据）"; "结项必须至少一张活动现场图和
不少于20个汉字".  A closed 双签 project with a check-in counts in the org's 双签项目 and 活动次数
(``stats.rollup.project_counted``); its volunteers' hours count either way.  The photos come from the
JS-SDK (``wx.uploadImage``) as items of the one media pipeline (``models.media``, purpose ``closure_photo``).
The admins of the project's org are reminded the day before the end and 1 and 7 days after it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from . import media
from .base import RuleViolation, db, insert_or_refuse
from .notification import notify_many
from .organization import OrgAdmin
from .project import APPROVED, DOUBLE, SINGLE, Project, get_project, require_project
from .stats import rollup

SUMMARY_MIN_HAN, SUMMARY_MAX = 20, 2000
MAX_PHOTOS = 9
PHOTO = media.purpose("closure_photo")  # the activity photos of a closure (JS-SDK wx.uploadImage)
#: When the admins are told: before the end, and after it while the project is still not closed.
REMIND_BEFORE, REMIND_AFTER = timedelta(days=1), (timedelta(days=1), timedelta(days=7))
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class ProjectClosure(db.Model):
    """结项: one per project."""

    __tablename__ = "project_closure"

    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    summary = db.Column(db.Text, nullable=False)
    closed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    closed_at = db.Column(db.DateTime, nullable=False)


class ClosurePhoto(db.Model):
    """An activity photo of a closure: its media item (fetched, checked and stored by the media job)."""

    __tablename__ = "project_closure_photo"
    __table_args__ = (db.UniqueConstraint("project_id", "media_item_id"),)

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project_closure.project_id", ondelete="CASCADE"),
                           nullable=False, index=True)
    media_item_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="RESTRICT"), nullable=False,
                              index=True)

    closure = db.relationship(ProjectClosure)
    item = db.relationship(media.MediaItem, lazy="joined")

    @property
    def state(self) -> str:
        return self.item.state


def han_count(text: str) -> int:
    return len(_HAN.findall(text or ""))


def check_closure(project: Project, summary: str, media_ids: list[str], *, now: datetime) -> str:
    """The rules of 结项 on plain values; the cleaned summary."""
    if project.status != APPROVED or now <= project.ends_at:
        raise RuleViolation("not_finished", "活动结束后才能结项。", 409)
    summary = (summary or "").strip()
    if han_count(summary) < SUMMARY_MIN_HAN or len(summary) > SUMMARY_MAX:
        raise RuleViolation("summary_short", f"活动小结不少于{SUMMARY_MIN_HAN}个汉字（最多{SUMMARY_MAX}字）。")
    if not media_ids:
        raise RuleViolation("photo_required", "结项至少需要一张活动现场照片。")
    if len(media_ids) > MAX_PHOTOS:
        raise RuleViolation("too_many_photos", f"最多上传{MAX_PHOTOS}张照片。")
    return summary


def close_project(actor, project_id: int, summary: str, media_ids: list[str], *, account: str,
                  now: datetime) -> ProjectClosure:
    """发布小结: once per project; a 双签 project with a check-in starts counting in the statistics."""
    project = get_project(project_id)
    require_project(actor, project, "close_project", now=now)
    media_ids = media.clean_ids(media_ids, code="closure_photo", least=0, most=MAX_PHOTOS)
    summary = check_closure(project, summary, media_ids, now=now)
    # The project's row, locked until commit: a first check-in at this moment (``punches.mark_first_checkin``,
    # an UPDATE of that row) then either commits before the read below sees it, or waits and finds this
    # closure — a closed 双签 project with a check-in counts once, never zero times.
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    closure = ProjectClosure(project_id=project.id, summary=summary, closed_by_id=actor.id, closed_at=now)
    insert_or_refuse(closure, "already_closed", "该项目已结项。")
    db.session.add_all(ClosurePhoto(project_id=project.id, media_item_id=item.id)
                       for item in media.receive_many(account, media_ids, PHOTO, now=now))
    checked_in = db.session.scalar(select(Project.first_checkin_at).where(Project.id == project.id))
    if project.checkin_mode == DOUBLE and checked_in is not None:  # read again: it is set by a bare UPDATE
        rollup.project_counted(project)
    db.session.flush()
    return closure


def first_checkin(project: Project) -> None:
    """The project's first check-in happened (in this transaction): a 单签 project, or a closed 双签
    one, now counts."""
    if project.checkin_mode == SINGLE or db.session.get(ProjectClosure, project.id) is not None:
        rollup.project_counted(project)


def closure_of(project_id: int) -> ProjectClosure | None:
    return db.session.get(ProjectClosure, project_id)


def photos_of(project_id: int) -> list[ClosurePhoto]:
    return ClosurePhoto.query.filter_by(project_id=project_id).order_by(ClosurePhoto.id).all()


def photo_of(project_id: int, photo_id: int) -> ClosurePhoto | None:
    """One photo of the project's closure (None when it belongs to another project)."""
    photo = db.session.get(ClosurePhoto, photo_id)
    return photo if photo is not None and photo.project_id == project_id else None


# ------------------------------------------------------------------------------ reminders
def remind_closures(now: datetime) -> int:
    """Tell the admins of each project's org that it needs 结项: the day before its end, and 1 and 7
    days after it while it is not closed.  Each reminder is written once (its key)."""
    closed = select(ProjectClosure.project_id)
    due = []
    before = Project.query.filter(Project.status == APPROVED, Project.ends_at > now,
                                  Project.ends_at <= now + REMIND_BEFORE, Project.id.not_in(closed)).all()
    due += [(p, "before", "活动将于明天结束，请在结束后发布小结并结项") for p in before]
    for after in REMIND_AFTER:
        late = Project.query.filter(Project.status == APPROVED, Project.ends_at <= now - after,
                                    Project.ends_at > now - after - timedelta(days=1),
                                    Project.id.not_in(closed)).all()
        due += [(p, f"after{after.days}", f"活动已结束{after.days}天，尚未结项") for p in late]
    written = 0
    for project, stage, text in due:
        admins = db.session.scalars(select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == project.org_id)).all()
        if admins:
            written += len(notify_many(admins, "closure_reminder", {"project": project.name, "note": text},
                                       f"/m/admin/projects/{project.id}/closure", f"project:{project.id}",
                                       f"closure_reminder:{project.id}:{stage}"))
    return written

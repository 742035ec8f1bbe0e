"""随手拍 and 文明万象: photos volunteers take at a running project, reviewed by its admins (审照) before
they show; 我的相册 by project; the city-wide wall of approved photos, newest first; withdrawal later.

Manual part 3 §二.9 (随手拍: 参加活动的志愿者…拍摄现场照片并上传到平台与大众分享), part 2's 我的相册 and
the project admins' 审核随手拍照片.  The photos arrive as ``wx.uploadImage`` serverIds and go through the
one media pipeline (``models.media``: fetched, EXIF position dropped, thumbnail made); a photo whose
file was lost fails with its media item and never reaches review.  Every review and withdrawal is a
conditional UPDATE on the state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from . import media
from .base import RuleViolation, db, label_of, won
from .organization import Organization
from .project import APPROVED as PROJECT_APPROVED
from .project import RUNNING, Project, can_manage_project, get_project
from .signup import ACCEPTED, Signup
from .volunteer import Volunteer

PHOTO = media.purpose("project_photo")
PENDING, APPROVED, REJECTED, WITHDRAWN, FAILED = "pending", "approved", "rejected", "withdrawn", "failed"
STATE_LABELS = {PENDING: "待审核", APPROVED: "已展示", REJECTED: "未通过", WITHDRAWN: "已撤下", FAILED: "上传失败"}
MOST_AT_ONCE = 9


class ProjectPhoto(db.Model):
    """随手拍: one photo of one volunteer at one project, and whether it shows in 文明万象."""

    __tablename__ = "project_photo"
    __table_args__ = (
        db.UniqueConstraint("media_item_id"),
        db.Index("ix_project_photo_state_created_at", "state", "created_at"),
        db.Index("ix_project_photo_volunteer_id_created_at", "volunteer_id", "created_at"),
        db.Index("ix_project_photo_project_id_state", "project_id", "state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    media_item_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="CASCADE"), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    created_at = db.Column(db.DateTime, nullable=False)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reviewed_at = db.Column(db.DateTime)
    withdrawn_at = db.Column(db.DateTime)

    project = db.relationship(Project)
    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])
    item = db.relationship(media.MediaItem)

    state_label = label_of("state", STATE_LABELS)


@media.when_failed(PHOTO)
def _photo_lost(item, now) -> None:
    """A photo whose file could not be fetched or was not a picture never reaches review."""
    db.session.execute(update(ProjectPhoto).where(ProjectPhoto.media_item_id == item.id, ProjectPhoto.state == PENDING)
                       .values(state=FAILED).execution_options(synchronize_session=False))


# ---------------------------------------------------------------------------------- uploading
def upload(volunteer: Volunteer, project_id: int, account: str, media_ids, *, now: datetime) -> list[ProjectPhoto]:
    """随手拍: an accepted volunteer of a project running now uploads up to nine photos at once."""
    project = get_project(project_id)
    if project.status != PROJECT_APPROVED or project.phase(now) != RUNNING:
        raise RuleViolation("project_not_running", "只能在活动进行期间上传随手拍照片。", 409)
    signup = Signup.query.filter_by(project_id=project.id, volunteer_id=volunteer.id).one_or_none()
    if signup is None or signup.state != ACCEPTED:
        raise RuleViolation("not_participant", "只有已录取参加该活动的志愿者可以上传随手拍。", 403)
    ids = media.clean_ids(media_ids, code="project_photo", least=1, most=MOST_AT_ONCE)
    photos = []
    for item in media.receive_many(account, ids, PHOTO, now=now):
        existing = ProjectPhoto.query.filter_by(media_item_id=item.id).one_or_none()
        if existing is not None:  # the same serverId sent twice (a double tap): one photo
            photos.append(existing)
            continue
        photo = ProjectPhoto(project_id=project.id, volunteer_id=volunteer.id, media_item_id=item.id,
                             state=PENDING, created_at=now)
        db.session.add(photo)
        photos.append(photo)
    db.session.flush()
    return photos


# ---------------------------------------------------------------------------------- reading
def wall(*, page: int = 1, per_page: int = 20) -> list[ProjectPhoto]:
    """文明万象: approved photos city-wide, newest first, with their project and org."""
    return (ProjectPhoto.query.filter_by(state=APPROVED).join(Project, Project.id == ProjectPhoto.project_id)
            .order_by(ProjectPhoto.created_at.desc(), ProjectPhoto.id.desc())
            .offset((page - 1) * per_page).limit(per_page).all())


def album(volunteer_id: int) -> list[tuple[Project, list[ProjectPhoto]]]:
    """我的相册: a volunteer's photos (every state but lost ones), by project, newest project first."""
    rows = (ProjectPhoto.query.filter(ProjectPhoto.volunteer_id == volunteer_id, ProjectPhoto.state != FAILED)
            .order_by(ProjectPhoto.created_at.desc(), ProjectPhoto.id.desc()).limit(500).all())
    groups: dict[int, tuple[Project, list[ProjectPhoto]]] = {}
    for photo in rows:
        groups.setdefault(photo.project_id, (photo.project, []))[1].append(photo)
    return list(groups.values())


def to_review(project_id: int) -> list[ProjectPhoto]:
    """审照: the project's photos waiting for review whose file has arrived."""
    return (ProjectPhoto.query.join(media.MediaItem, media.MediaItem.id == ProjectPhoto.media_item_id)
            .filter(ProjectPhoto.project_id == project_id, ProjectPhoto.state == PENDING,
                    media.MediaItem.state == media.STORED)
            .order_by(ProjectPhoto.created_at, ProjectPhoto.id).all())


def shown_of_project(project_id: int) -> list[ProjectPhoto]:
    return (ProjectPhoto.query.filter_by(project_id=project_id, state=APPROVED)
            .order_by(ProjectPhoto.created_at.desc(), ProjectPhoto.id.desc()).limit(100).all())


def may_manage(actor: Volunteer | None, project: Project, *, now: datetime) -> bool:
    """The project's admins (its org and above, its temporary admins) review and withdraw its photos."""
    return can_manage_project(actor, project, "review_signups", now=now)


def may_see(viewer: Volunteer | None, photo: ProjectPhoto, *, now: datetime) -> bool:
    if photo.state == APPROVED:
        return True
    return viewer is not None and (photo.volunteer_id == viewer.id or may_manage(viewer, photo.project, now=now))


def org_of(photo: ProjectPhoto) -> Organization:
    return photo.project.org


# ---------------------------------------------------------------------------------- review and withdrawal
def review(actor: Volunteer, project_id: int, photo_ids, approve: bool, *, now: datetime) -> int:
    """审照 (one or a batch): pending → approved (shows in 文明万象) or rejected."""
    project = get_project(project_id)
    if not may_manage(actor, project, now=now):
        raise RuleViolation("forbidden", "只有项目管理员可以审核随手拍照片。", 403)
    ids = sorted({int(i) for i in photo_ids})
    if not ids:
        raise RuleViolation("nothing_selected", "请先选择照片。")
    stored = db.session.query(media.MediaItem.id).filter(media.MediaItem.state == media.STORED)
    done = db.session.execute(
        update(ProjectPhoto).where(ProjectPhoto.id.in_(ids), ProjectPhoto.project_id == project.id,
                                   ProjectPhoto.state == PENDING, ProjectPhoto.media_item_id.in_(stored))
        .values(state=APPROVED if approve else REJECTED, reviewed_by_id=actor.id, reviewed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not done:
        raise RuleViolation("nothing_pending", "所选照片已被审核或不存在。", 409)
    db.session.expire_all()
    return done


def withdraw(actor: Volunteer, photo_id: int, *, now: datetime) -> ProjectPhoto:
    """撤下: a project admin (or the volunteer who took it) takes a photo off the wall."""
    photo = db.session.get(ProjectPhoto, photo_id)
    if photo is None:
        raise RuleViolation("photo_not_found", "照片不存在。", 404)
    if photo.volunteer_id != actor.id and not may_manage(actor, photo.project, now=now):
        raise RuleViolation("forbidden", "只有项目管理员或拍摄者本人可以撤下照片。", 403)
    if not won(update(ProjectPhoto).where(ProjectPhoto.id == photo.id, ProjectPhoto.state.in_((PENDING, APPROVED)))
               .values(state=WITHDRAWN, withdrawn_at=now)):
        raise RuleViolation("photo_closed", "该照片已撤下或未通过审核。", 409)
    db.session.expire(photo)
    return photo

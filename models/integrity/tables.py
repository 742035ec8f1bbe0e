"""Tables of integrity: location flags on punches and the audit log of admin actions on hours (and on the
certificates that attest them)."""

from __future__ import annotations

from ..base import db

# --------------------------------------------------------------------------- location flags
FLAG_SPEED, FLAG_SAME_SPOT, FLAG_ACCURACY, FLAG_LATE_CODE = "speed", "same_spot", "accuracy", "late_code"
FLAG_LABELS = {FLAG_SPEED: "移动速度异常", FLAG_SAME_SPOT: "坐标完全重复", FLAG_ACCURACY: "定位精度差于打卡范围",
               FLAG_LATE_CODE: "现场码延迟上传"}

# ------------------------------------------------------------------------------ admin actions
A_MAKEUP_APPROVED, A_OBJECTION_UPHELD, A_SCAN_ASSIST, A_DESK_PUNCH, A_REMOVAL, A_RESTORE = (
    "makeup_approved", "objection_upheld", "scan_assist", "desk_punch", "removal", "restore")
A_CERTIFICATE_PRINTED = "certificate_printed"  # an admin printed a participant's 志愿服务记录证明
ACTION_LABELS = {A_MAKEUP_APPROVED: "补签审核通过", A_OBJECTION_UPHELD: "异议成立（取消时长）",
                 A_SCAN_ASSIST: "扫码辅助签到", A_DESK_PUNCH: "服务台代打卡", A_REMOVAL: "清除（无签到活动/无时长报名）",
                 A_RESTORE: "恢复清除", A_CERTIFICATE_PRINTED: "证书打印"}


class PunchFlag(db.Model):
    """A location signal on one punch, for the admin to look at (flagged, never refused)."""

    __tablename__ = "punch_flag"
    __table_args__ = (db.UniqueConstraint("punch_id", "kind"),
                      db.Index("ix_punch_flag_project_id_at", "project_id", "at"))

    id = db.Column(db.Integer, primary_key=True)
    punch_id = db.Column(db.Integer, db.ForeignKey("punch.id", ondelete="CASCADE"), nullable=False)
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    kind = db.Column(db.String(12), nullable=False)
    at = db.Column(db.DateTime, nullable=False)  # the punch's time
    detail = db.Column(db.String(200), nullable=False)

    @property
    def label(self) -> str:
        return FLAG_LABELS.get(self.kind, self.kind)


class AdminAction(db.Model):
    """审计: one admin action that created or cancelled hours, or printed a certificate of them — who, when, from
    where, on whom."""

    __tablename__ = "admin_action"
    __table_args__ = (db.Index("ix_admin_action_org_id_at", "org_id", "at"),
                      db.Index("ix_admin_action_actor_id_action", "actor_id", "action"))

    id = db.Column(db.Integer, primary_key=True)
    action = db.Column(db.String(20), nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))  # None: system / operator
    actor_label = db.Column(db.String(100), nullable=False, default="")  # "operator", the job's name …
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))  # whose hours
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="SET NULL"))
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="SET NULL"))  # the project's org
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    hours = db.Column(db.Numeric(6, 2))
    at = db.Column(db.DateTime, nullable=False)
    ip = db.Column(db.String(64), nullable=False, default="")
    user_agent = db.Column(db.String(300), nullable=False, default="")
    channel = db.Column(db.String(20), nullable=False, default="")  # page / chat / cli / job
    detail = db.Column(db.String(300), nullable=False, default="")

    actor = db.relationship("Volunteer", foreign_keys=[actor_id])
    volunteer = db.relationship("Volunteer", foreign_keys=[volunteer_id])
    project = db.relationship("Project")

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

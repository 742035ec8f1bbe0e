"""Tables of the record: certificates and the cycles each one counted, star levels reached, record entries
(培训, 表彰奖励, 评价), volunteers' national 统一编号, and the audit of the record's admin acts.

A certificate keeps the facts as issued (``content``, JSON, with the ID number already masked: no personal data
in the clear), and links every cycle it counted: when one of them stops counting (an upheld objection cancels
it), the certificate reads as superseded — computed on every read, never stored, so it cannot go stale.
"""

from __future__ import annotations

import json

from ..base import db, label_of

# certificate kinds and states
PROJECT, PERIOD = "project", "period"
KINDS = {PROJECT: "项目证明", PERIOD: "服务记录证明"}
VALID, REVOKED, SUPERSEDED = "valid", "revoked", "superseded"  # superseded is computed, never stored
STATE_LABELS = {VALID: "有效", REVOKED: "已撤销", SUPERSEDED: "已被更新（时长有变动）"}

# record entries (志愿服务条例 art. 19: 培训情况、表彰奖励情况、评价情况)
TRAINING, AWARD, EVALUATION = "training", "award", "evaluation"
ENTRY_KINDS = {TRAINING: "培训", AWARD: "表彰奖励", EVALUATION: "评价"}


class Certificate(db.Model):
    """志愿服务记录证明: one issue, in the name of the org that recorded the hours (谁记录谁证明)."""

    __tablename__ = "certificate"
    __table_args__ = (
        db.Index("ix_certificate_volunteer_id_kind", "volunteer_id", "kind"),
        # one valid certificate per scope: two asks at once cannot issue the same certificate twice
        db.Index("uq_certificate_valid_scope", "scope_key", unique=True, sqlite_where=db.text("state = 'valid'"),
                 postgresql_where=db.text("state = 'valid'")),
        db.CheckConstraint("kind IN ('project', 'period')", name="kind"),
        db.CheckConstraint("state IN ('valid', 'revoked')", name="state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(24), nullable=False, unique=True)  # random, printed, the verification key
    kind = db.Column(db.String(10), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    issuer_org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False,
                              index=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="SET NULL"))
    period_start = db.Column(db.Date)
    period_end = db.Column(db.Date)
    cycle_count = db.Column(db.Integer, nullable=False)
    total_hours = db.Column(db.Numeric(10, 2), nullable=False)
    content_json = db.Column(db.Text, nullable=False)
    # what it certifies as one value (``certificates.scope_key``); empty only on duplicates issued before the index
    scope_key = db.Column(db.String(64))
    state = db.Column(db.String(10), nullable=False, default=VALID)
    issued_at = db.Column(db.DateTime, nullable=False)
    revoked_at = db.Column(db.DateTime)
    revoked_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    revoke_reason = db.Column(db.String(200))

    @property
    def content(self) -> dict:
        return json.loads(self.content_json)

    kind_label = label_of("kind", KINDS)


class CertificateCycle(db.Model):
    """A cycle a certificate counted."""

    __tablename__ = "certificate_cycle"

    certificate_id = db.Column(db.Integer, db.ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="CASCADE"), primary_key=True,
                         index=True)


class StarLevel(db.Model):
    """星级: a level a volunteer reached, once (the unique pair makes the message go out once)."""

    __tablename__ = "star_level"
    __table_args__ = (db.UniqueConstraint("volunteer_id", "level"),)

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    level = db.Column(db.Integer, nullable=False)
    hours = db.Column(db.Numeric(10, 2), nullable=False)  # the confirmed hours when it was reached
    reached_at = db.Column(db.DateTime, nullable=False)


class RecordEntry(db.Model):
    """培训 / 表彰奖励 / 评价 recorded by an org admin for a member of the org (or below)."""

    __tablename__ = "record_entry"
    __table_args__ = (
        db.Index("ix_record_entry_volunteer_id_day", "volunteer_id", "day"),
        db.CheckConstraint("kind IN ('training', 'award', 'evaluation')", name="kind"),
    )

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(db.String(12), nullable=False)
    title = db.Column(db.String(100), nullable=False)  # 培训名称 / 奖项名称 / 评价等次
    detail = db.Column(db.String(300), nullable=False, default="")  # 学时、授予单位、评语
    day = db.Column(db.Date, nullable=False)
    recorded_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    recorded_at = db.Column(db.DateTime, nullable=False)

    org = db.relationship("Organization")

    kind_label = label_of("kind", ENTRY_KINDS)


class NationalNumber(db.Model):
    """志愿者统一编号 in 全国志愿服务信息系统, when known (one per volunteer, one volunteer per number)."""

    __tablename__ = "national_number"

    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True)
    number = db.Column(db.String(40), nullable=False, unique=True)
    recorded_at = db.Column(db.DateTime, nullable=False)
    recorded_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))


class RecordAudit(db.Model):
    """Who did what to the record outside the hours: certificates revoked, 统一编号 set.  The national export is
    audited by its ``Export`` row (``models.exports``: who, when, ID numbers whole or not, downloads)."""

    __tablename__ = "record_audit"

    id = db.Column(db.Integer, primary_key=True)
    actor_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"), index=True)
    action = db.Column(db.String(40), nullable=False)
    target = db.Column(db.String(100), nullable=False)
    detail = db.Column(db.String(200), nullable=False, default="")
    at = db.Column(db.DateTime, nullable=False)

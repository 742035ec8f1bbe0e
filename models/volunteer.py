"""志愿者: a registered volunteer, and the bindings of WeChat users to volunteers."""

from __future__ import annotations

from sqlalchemy.orm import object_session
from werkzeug.security import check_password_hash, generate_password_hash

from . import personal_data
from .base import after_commit, db, utcnow


class VolunteerNumber(db.Model):
    """One row per number ever issued: the autoincrement id is the sequence, never reused."""

    __tablename__ = "volunteer_number"
    __table_args__ = {"sqlite_autoincrement": True}

    id = db.Column(db.Integer, primary_key=True, autoincrement=True)
    issued_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Volunteer(db.Model):
    """志愿者.  ID number and phone are encrypted; ``*_hash`` columns serve lookups and uniqueness."""

    __tablename__ = "volunteer"

    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(15), nullable=False, unique=True)
    name = db.Column(db.String(50), nullable=False)
    gender = db.Column(db.String(1), nullable=False)  # "M" / "F"
    birth_date = db.Column(db.Date)
    id_type = db.Column(db.String(16), nullable=False)
    id_number_encrypted, id_number_hash, id_number_masked = personal_data.sealed_columns(32, unique=True)
    phone_encrypted, phone_hash, phone_masked = personal_data.sealed_columns(20, unique=True)
    password_hash = db.Column(db.String(256), nullable=False)
    password_must_change = db.Column(db.Boolean, nullable=False, default=False)
    qr_token = db.Column(db.String(64), nullable=False, unique=True)
    guardian_name = db.Column(db.String(50))
    guardian_phone_encrypted = db.Column(db.Text)
    guardian_consent_at = db.Column(db.DateTime)
    country = db.Column(db.String(50), nullable=False, default="中国")
    education = db.Column(db.String(30))
    native_place = db.Column(db.String(50))
    political_status = db.Column(db.String(30))
    ethnicity = db.Column(db.String(30))
    other_contacts = db.Column(db.String(200))
    avatar_path = db.Column(db.String(200))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    # -- personal data -----------------------------------------------------------------------
    id_number = personal_data.unsealed("id_number")
    phone = personal_data.unsealed("phone")

    def set_id_number(self, number: str) -> None:
        personal_data.seal(self, "id_number", number, personal_data.mask_id)

    def set_phone(self, phone: str) -> None:
        personal_data.seal(self, "phone", phone, personal_data.mask_phone)

    @property
    def masked_name(self) -> str:
        return personal_data.mask_name(self.name)

    # -- password ------------------------------------------------------------------------------
    def set_password(self, password: str, must_change: bool = False) -> None:
        self.password_hash = generate_password_hash(password)
        self.password_must_change = must_change

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def by_id_number(cls, number: str) -> Volunteer | None:
        return cls.query.filter_by(id_number_hash=personal_data.lookup_hash(number)).one_or_none()

    @classmethod
    def by_phone(cls, phone: str) -> Volunteer | None:
        return cls.query.filter_by(phone_hash=personal_data.lookup_hash(phone)).one_or_none()


class Binding(db.Model):
    """账号绑定: (account, openid) ↔ volunteer.  One openid per volunteer per account."""

    __tablename__ = "binding"
    __table_args__ = (
        db.UniqueConstraint("account", "openid"),
        db.UniqueConstraint("account", "volunteer_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    account = db.Column(db.String(64), nullable=False)
    openid = db.Column(db.String(64), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    bound_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    volunteer = db.relationship(Volunteer, backref=db.backref("bindings", cascade="all, delete-orphan"))

    @classmethod
    def volunteer_for(cls, account: str, openid: str) -> Volunteer | None:
        return (Volunteer.query.join(cls, cls.volunteer_id == Volunteer.id)
                .filter(cls.account == account, cls.openid == openid).one_or_none())


BINDING_CHANGES = "wx_binding_changes"  # after-commit key: (account, openid, volunteer_id) inserted, moved or deleted


@db.event.listens_for(Binding, "after_insert")
@db.event.listens_for(Binding, "after_update")
@db.event.listens_for(Binding, "after_delete")
def _note_binding_change(_mapper, _connection, target) -> None:
    """Note which (account, openid) changed hands, for after the commit (follower cards, the admin tag)."""
    after_commit(BINDING_CHANGES, (target.account, target.openid, target.volunteer_id),
                 session=object_session(target) or db.session())

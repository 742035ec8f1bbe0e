"""The signed codes a test shows to the service, made with the app's own key (as its pages make them)."""

from __future__ import annotations

from models.integrity import codes


def personal(app, volunteer, now) -> str:
    """The personal centre's dynamic QR payload of ``volunteer`` at ``now``."""
    return codes.personal_code(codes.derive_key(app.secret_key, codes.PERSONAL_PURPOSE), volunteer.id,
                               volunteer.qr_token, now)


def onsite(app, project_id, day, now) -> str:
    """The on-site check-in code of ``project_id`` on ``day`` as shown at ``now``."""
    return codes.onsite_code(codes.derive_key(app.secret_key, codes.ONSITE_PURPOSE), project_id, day, now)

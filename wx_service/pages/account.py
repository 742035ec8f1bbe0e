"""账号绑定与解绑."""

from __future__ import annotations

from flask import g, render_template

from ..binding import bound_volunteer
from ..oauth import person_required
from . import bp


@bp.get("/bind")
@person_required
def bind():
    volunteer = bound_volunteer(g.account, g.openid)
    return render_template("pages/bind.html", volunteer=volunteer)

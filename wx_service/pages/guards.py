"""Who may see a page: a signed-in person (OAuth) who is also a bound volunteer."""

from __future__ import annotations

import functools

from flask import g, redirect, render_template, request, url_for

from ..binding import bound_volunteer
from ..oauth import person_required


def volunteer_required(view):
    """``g.volunteer`` is the bound volunteer; an unbound person is shown the way to bind.

    A volunteer holding a one-time password is sent to change it first.
    """

    @functools.wraps(view)
    @person_required
    def wrapper(*args, **kwargs):
        volunteer = bound_volunteer(g.account, g.openid)
        if volunteer is None:
            return render_template("pages/need_bind.html"), 403
        if volunteer.password_must_change and request.endpoint != "pages.change_password":
            return redirect(url_for("pages.change_password", account=g.account))
        g.volunteer = volunteer
        return view(*args, **kwargs)

    return wrapper

"""Headers every answer carries (unless it set its own), and ``no-store`` on the mobile pages, which show
personal data.

Framing is allowed from the same origin only: the sandbox phone shows the pages in an iframe.
"""

from __future__ import annotations

SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "SAMEORIGIN"),
                    ("Content-Security-Policy", "frame-ancestors 'self'"))


def add(response, path: str):
    """The headers present are read in one pass: werkzeug answers each lookup of a missing header by raising
    (and catching) an HTTP exception, which cost more than the rest of this step."""
    present = {name.lower() for name, _ in response.headers}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            response.headers.add(name, value)
    if path.startswith("/m/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response

"""Cookie sessions for the pages, none for the WeChat callback.

WeChat calls ``/wechat/<account>`` without cookies and the callback neither reads nor writes a
session; opening a signed cookie session there (a signing serializer, the cookie parse, the save
check) was per-callback work for nothing.  The callback gets Flask's null session instead, which
refuses writes, so a handler that tried to use one would fail loudly rather than set a cookie.
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

CALLBACK_PREFIX = "/wechat/"


class PageSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if request.path.startswith(CALLBACK_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)

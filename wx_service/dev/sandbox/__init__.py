"""The development sandbox: a local stand-in for WeChat (API, OAuth, JS-SDK, and a phone page).

Mounted by the app only when ``env = "development"`` (``url_prefix="/sandbox"``, CSRF-exempt).
Accounts whose ``api_base``/``oauth_base`` is ``{base_url}/sandbox/`` talk to it instead of
WeChat.  State is in memory, per process: see :mod:`wx_service.dev.sandbox.state`.
"""

from flask import Blueprint

bp = Blueprint(
    "sandbox", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

from . import api, phone  # noqa: E402,F401  (registers the routes on bp)
from .phone import send_callback  # noqa: E402
from .state import SandboxState, get_state  # noqa: E402

__all__ = ["bp", "get_state", "send_callback", "SandboxState"]

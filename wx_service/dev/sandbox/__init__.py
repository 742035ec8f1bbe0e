"""The development sandbox: a local stand-in for WeChat (API, OAuth, JS-SDK, and a phone page).

Mounted by the app only when ``env = "development"`` (``url_prefix="/sandbox"``, CSRF-exempt).
Accounts whose ``api_base``/``oauth_base`` is ``{base_url}/sandbox/`` talk to it instead of
WeChat.  State is in memory, per process: see :mod:`wx_service.dev.sandbox.state`.
"""

from flask import Blueprint

bp = Blueprint(
    "sandbox", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

# importing the route modules registers their views on bp (each imports bp and wechat_api itself)
from . import api, api_media, api_menus, api_messages, api_oauth, api_publish, api_users, phone  # noqa: E402,F401
from .phone import send_callback  # noqa: E402
from .state import SandboxState, get_state  # noqa: E402

__all__ = ["bp", "get_state", "send_callback", "SandboxState"]

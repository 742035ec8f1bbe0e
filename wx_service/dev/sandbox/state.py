"""What the sandbox knows: tokens, menus, tags, users, messages, media, OAuth codes.

The state lives **in memory, in one process**: it is created lazily by :func:`get_state` and hung
on ``current_app.extensions["sandbox"]``.  Restarting the process forgets everything, and two
processes (e.g. several gunicorn workers) each have their own sandbox — run the development server
as a single process when you use it.  Every method takes the lock, so threads of one process
(Flask's threaded dev server) see one consistent state.

Test helpers (all on :class:`SandboxState`): ``fail_next(endpoint, errcode, times=1)``,
``expire_token(appid)``, ``unfollowed(openid)``, ``follow(appid, openid)``, ``bad_templates``,
``add_media(...)``, ``issue_code(appid, openid)``, ``reset()``; records: ``calls``,
``token_fetches``, ``delivered``, ``receipts``, ``custom_messages``, ``conversation``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict

from flask import current_app

TOKEN_TTL = 7200
TICKET_TTL = 7200
OLD_TOKEN_GRACE = 300  # cgi-bin/token: the previous token keeps working for 5 minutes
CODE_TTL = 300
INTERACTION_WINDOW = 48 * 3600  # custom messages: only within 48 h of the user's last action
FIRST_TAG_ID = 100  # WeChat reserves 0, 1 and 2


def get_state(app=None) -> SandboxState:
    """The process's sandbox state, created on first use."""
    app = app or current_app._get_current_object()
    state = app.extensions.get("sandbox")
    if state is None:
        state = app.extensions.setdefault("sandbox", SandboxState())
    return state


def _now() -> float:
    return time.time()


class SandboxState:
    """Everything the sandbox remembers.  In memory, per process; see the module docstring."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    # ------------------------------------------------------------------ housekeeping
    def reset(self) -> None:
        with self.lock:
            self.calls: list[dict] = []
            self.tokens: dict[str, dict] = {}  # token -> {appid, expires_at}
            self.current_token: dict[str, str] = {}  # appid -> latest token
            self.token_fetches: dict[str, int] = defaultdict(int)
            self.tickets: dict[str, dict] = {}  # ticket -> {appid, expires_at}
            self.current_ticket: dict[str, str] = {}
            self.ticket_fetches: dict[str, int] = defaultdict(int)
            self.menus: dict[str, dict | None] = {}  # appid -> default menu {"button": [...]}
            self.conditional_menus: dict[str, list[dict]] = defaultdict(list)
            self.tags: dict[str, dict[int, str]] = defaultdict(dict)  # appid -> id -> name
            self.users: dict[str, dict[str, dict]] = defaultdict(dict)  # appid -> openid -> user
            self.unfollowed_openids: set[str] = set()
            self.bad_templates: set[str] = set()
            self.delivered: list[dict] = []  # template messages delivered (once per client_msg_id)
            self._delivered_by_id: dict[tuple[str, str], dict] = {}  # (appid, client_msg_id) -> entry
            self.receipts: dict[str, int] = defaultdict(int)  # client_msg_id -> attempts
            self.custom_messages: list[dict] = []
            self.conversation: list[dict] = []  # what the phone sent and what came back
            self.media: dict[str, dict] = {}  # media_id -> {data, content_type, kind, jssdk, ...}
            self.codes: dict[str, dict] = {}  # code -> {appid, openid, used, created, scope}
            self.sns_tokens: dict[str, dict] = {}
            self.faults: dict[str, list[dict]] = defaultdict(list)
            self.qrcodes: dict[str, dict] = {}
            self.published: dict[str, list[dict]] = defaultdict(list)  # appid -> 发布 records, oldest first
            self._msgid = 2_000_000_000
            self._menuid = 400_000_000

    def publish_articles(self, appid: str, news_items: list[dict]) -> str:
        """What 发布 in the account's back office does: one record of one or more articles."""
        with self.lock:
            article_id = secrets.token_urlsafe(24)
            items = [{"title": "", "author": "", "digest": "", "content": "", "content_source_url": "",
                      "thumb_media_id": "", "thumb_url": "", "show_cover_pic": 0, "need_open_comment": 0,
                      "only_fans_can_comment": 0, "is_deleted": False,
                      "url": f"https://mp.weixin.qq.com/s/{secrets.token_urlsafe(16)}", **n} for n in news_items]
            self.published[appid].append({"article_id": article_id, "content": {"news_item": items, "create_time":
                                          int(_now()), "update_time": int(_now())}, "update_time": int(_now())})
            return article_id

    # ------------------------------------------------------------------ records
    def record(self, endpoint: str, method: str, params: dict, body, appid: str | None, response) -> dict:
        entry = {
            "endpoint": endpoint,
            "method": method,
            "params": dict(params),
            "body": body,
            "appid": appid,
            "errcode": response.get("errcode", 0) if isinstance(response, dict) else 0,
            "time": _now(),
        }
        with self.lock:
            self.calls.append(entry)
        return entry

    def calls_to(self, endpoint: str) -> list[dict]:
        endpoint = endpoint.strip("/")
        with self.lock:
            return [c for c in self.calls if c["endpoint"] == endpoint]

    # ------------------------------------------------------------------ fault injection
    def fail_next(
        self, endpoint: str, errcode: int, times: int = 1, errmsg: str | None = None, status: int = 200
    ) -> None:
        """Make the next ``times`` calls to ``endpoint`` (e.g. ``"cgi-bin/message/template/send"``)
        answer ``errcode`` (with HTTP ``status``) instead of doing their work."""
        with self.lock:
            self.faults[endpoint.strip("/")].append(
                {"errcode": errcode, "errmsg": errmsg, "times": times, "status": status}
            )

    def take_fault(self, endpoint: str) -> dict | None:
        with self.lock:
            queue = self.faults.get(endpoint)
            while queue:
                fault = queue[0]
                if fault["times"] > 0:
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        queue.pop(0)
                    return fault
                queue.pop(0)
        return None

    # ------------------------------------------------------------------ tokens
    def issue_token(
        self, appid: str, *, rotate: bool = True, grace: int = OLD_TOKEN_GRACE
    ) -> tuple[str, int]:
        """Return (token, expires_in).  ``rotate=False`` returns the current valid token if any.
        A rotation leaves the previous token valid for ``grace`` seconds."""
        now = _now()
        with self.lock:
            current = self.current_token.get(appid)
            info = self.tokens.get(current) if current else None
            if not rotate and info and info["expires_at"] > now:
                return current, int(info["expires_at"] - now)
            if info:
                info["expires_at"] = min(info["expires_at"], now + grace)
            token = f"SBX_{appid[-6:]}_{secrets.token_urlsafe(24)}"
            self.tokens[token] = {"appid": appid, "expires_at": now + TOKEN_TTL}
            self.current_token[appid] = token
            self.token_fetches[appid] += 1
            return token, TOKEN_TTL

    def check_token(self, token: str | None) -> str | None:
        """The appid the token belongs to, or None when unknown or expired."""
        if not token:
            return None
        with self.lock:
            info = self.tokens.get(token)
            if info and info["expires_at"] > _now():
                return info["appid"]
        return None

    def expire_token(self, appid: str) -> None:
        """Test helper: every token of ``appid`` stops working (40001 on use)."""
        self._expire(self.tokens, self.current_token, appid)

    def _expire(self, issued: dict, current: dict, appid: str) -> None:
        """Every credential of ``appid`` in ``issued`` (tokens or tickets) expires; none is current."""
        with self.lock:
            for info in issued.values():
                if info["appid"] == appid:
                    info["expires_at"] = 0
            current.pop(appid, None)

    def issue_ticket(self, appid: str) -> tuple[str, int]:
        now = _now()
        with self.lock:
            current = self.current_ticket.get(appid)
            info = self.tickets.get(current) if current else None
            if info and info["expires_at"] > now:
                return current, int(info["expires_at"] - now)
            ticket = "sbx_jsapi_" + secrets.token_urlsafe(32)
            self.tickets[ticket] = {"appid": appid, "expires_at": now + TICKET_TTL}
            self.current_ticket[appid] = ticket
            self.ticket_fetches[appid] += 1
            return ticket, TICKET_TTL

    def valid_tickets(self, appid: str) -> list[str]:
        now = _now()
        with self.lock:
            return [t for t, i in self.tickets.items() if i["appid"] == appid and i["expires_at"] > now]

    def expire_ticket(self, appid: str) -> None:
        """Test helper: every jsapi_ticket of ``appid`` stops working."""
        self._expire(self.tickets, self.current_ticket, appid)

    # ------------------------------------------------------------------ users
    def user(self, appid: str, openid: str, create: bool = True) -> dict | None:
        with self.lock:
            users = self.users[appid]
            if openid not in users and create:
                users[openid] = {
                    "openid": openid,
                    "subscribe": 0,
                    "nickname": "",
                    "tagid_list": [],
                    "subscribe_time": 0,
                    "last_interaction": 0.0,
                    "remark": "",
                }
            return users.get(openid)

    def follow(self, appid: str, openid: str, nickname: str | None = None) -> dict:
        with self.lock:
            u = self.user(appid, openid)
            u["subscribe"] = 1
            u["subscribe_time"] = int(_now())
            u["last_interaction"] = _now()
            if nickname is not None:
                u["nickname"] = nickname
            elif not u["nickname"]:
                u["nickname"] = openid
            self.unfollowed_openids.discard(openid)
            return u

    def unfollow(self, appid: str, openid: str) -> None:
        with self.lock:
            u = self.user(appid, openid)
            u["subscribe"] = 0
            u["tagid_list"] = []  # WeChat forgets the tags of a user who unfollows

    def unfollowed(self, openid: str, appid: str | None = None) -> None:
        """Test helper: ``openid`` no longer follows (template send answers 43004)."""
        with self.lock:
            if appid:
                self.unfollow(appid, openid)
            else:
                self.unfollowed_openids.add(openid)
                for users in self.users.values():
                    if openid in users:
                        users[openid]["subscribe"] = 0

    def is_following(self, appid: str, openid: str) -> bool:
        with self.lock:
            if openid in self.unfollowed_openids:
                return False
            u = self.users[appid].get(openid)
            return bool(u and u["subscribe"])

    def touch(self, appid: str, openid: str) -> None:
        """The user did something that opens the 48 h custom-message window."""
        with self.lock:
            self.user(appid, openid)["last_interaction"] = _now()

    # ------------------------------------------------------------------ menus
    def next_menuid(self) -> int:
        with self.lock:
            self._menuid += 1
            return self._menuid

    def menu_for(self, appid: str, openid: str | None) -> dict | None:
        """The menu this user sees: the newest conditional menu whose tag matches, else the default."""
        with self.lock:
            default = self.menus.get(appid)
            if not default:
                return None  # conditional menus need a default menu
            tags = set()
            if openid:
                u = self.users[appid].get(openid)
                tags = {str(t) for t in (u["tagid_list"] if u else [])}
            for menu in reversed(self.conditional_menus.get(appid, [])):
                tag_id = str(menu.get("matchrule", {}).get("tag_id", ""))
                if tag_id and tag_id in tags:
                    return menu
            return default

    # ------------------------------------------------------------------ messages
    def next_msgid(self) -> int:
        with self.lock:
            self._msgid += 1
            return self._msgid

    def template_sent(self, appid: str, body: dict, warnings: list[str]) -> int:
        """Deliver one template message; a repeated client_msg_id is not delivered again (same msgid).
        Attempts are counted separately by :meth:`count_attempt` (``receipts``)."""
        client_msg_id = body.get("client_msg_id") or ""
        with self.lock:
            known = self._delivered_by_id.get((appid, client_msg_id)) if client_msg_id else None
            if known is not None:
                return known["msgid"]
            msgid = self.next_msgid()
            entry = {
                "appid": appid,
                "msgid": msgid,
                "touser": body.get("touser"),
                "template_id": body.get("template_id"),
                "url": body.get("url", ""),
                "miniprogram": body.get("miniprogram"),
                "data": body.get("data") or {},
                "client_msg_id": client_msg_id,
                "warnings": warnings,
                "time": _now(),
            }
            self.delivered.append(entry)
            if client_msg_id:
                self._delivered_by_id[(appid, client_msg_id)] = entry
            return msgid

    def count_attempt(self, client_msg_id: str | None) -> None:
        if client_msg_id:
            with self.lock:
                self.receipts[client_msg_id] += 1

    def templates_to(self, openid: str, appid: str | None = None) -> list[dict]:
        with self.lock:
            return [
                d for d in self.delivered if d["touser"] == openid and (appid is None or d["appid"] == appid)
            ]

    # ------------------------------------------------------------------ media
    def add_media(
        self,
        data: bytes,
        content_type: str,
        *,
        jssdk: bool = False,
        appid: str | None = None,
        filename: str | None = None,
        kind: str = "",
    ) -> str:
        """One temporary media; ``jssdk`` when a page uploaded it (``wx.uploadImage`` / ``wx.uploadVoice``).

        Every temporary media is served by ``media/get``; only a JS-SDK *voice* also has the
        high-definition copy of ``media/get/jssdk``.  ``kind`` (image, voice, ...) defaults to what
        the content type says.
        """
        kind = kind or ("image" if content_type.startswith("image/") else
                        "voice" if content_type.startswith(("audio/", "voice/")) else "file")
        media_id = ("jssdk_" if jssdk else "") + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
        with self.lock:
            self.media[media_id] = {
                "data": bytes(data),
                "content_type": content_type,
                "appid": appid,
                "filename": filename or media_id,
                "kind": kind,
                "jssdk": jssdk,
                "created": _now(),
            }
        return media_id

    def get_media(self, media_id: str, *, hd_voice: bool = False) -> dict | None:
        """The media ``media/get`` serves; with ``hd_voice``, only a JS-SDK voice (``media/get/jssdk``)."""
        with self.lock:
            item = self.media.get(media_id)
        if item is not None and hd_voice and not (item["jssdk"] and item["kind"] == "voice"):
            return None  # WeChat: 40007 invalid media_id
        return item

    # ------------------------------------------------------------------ OAuth
    def issue_code(self, appid: str, openid: str, scope: str = "snsapi_base") -> str:
        code = "sbx" + secrets.token_hex(14)
        with self.lock:
            self.codes[code] = {
                "appid": appid,
                "openid": openid,
                "used": False,
                "created": _now(),
                "scope": scope,
            }
            self.user(appid, openid)
        return code

    def trade_code(self, appid: str, code: str) -> tuple[int, dict | None]:
        """(errcode, code info).  40029 unknown/expired/other account, 40163 already used."""
        with self.lock:
            info = self.codes.get(code)
            if not info or info["appid"] != appid or _now() - info["created"] > CODE_TTL:
                return 40029, None
            if info["used"]:
                return 40163, None
            info["used"] = True
            return 0, info

    def age_code(self, code: str, seconds: float) -> None:
        """Test helper: make a code look ``seconds`` older."""
        with self.lock:
            self.codes[code]["created"] -= seconds

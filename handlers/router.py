"""One router for every WeChat message and event, keyed by (MsgType, Event, EventKey prefix).

The most specific route wins: an exact event with the longest matching key prefix, then the
event without a key, then the message type alone.  A handler takes an ``Incoming`` and returns a
reply (text, a wechatpy reply object) or None for ``success``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from urllib.parse import urlencode


@dataclass
class Incoming:
    """What a handler needs about one callback, already parsed and looked up.

    The follower row and the bound volunteer are loaded when a handler first asks for them: most
    handlers need neither, and a callback from a person seen a moment ago then costs no query.
    """

    account: str
    message: object  # a wechatpy message or event
    now: datetime
    base_url: str
    load_follower: Callable[[], object]  # -> models.Follower
    load_volunteer: Callable[[], object | None]  # -> the bound volunteer, if any
    volunteer_id: int | None = None  # known without a query
    # The follower row was made by this very callback (``models.Follower.first_sight``): following
    # already when the callback is a subscribe.
    new_follower: bool = False
    # The typed configuration (``wx_service.config.Settings``) the callback read: handlers read it here.
    settings: object = None
    extra: dict = field(default_factory=dict)

    @property
    def bound(self) -> bool:
        """Whether a volunteer is bound to this WeChat on this account (no query needed)."""
        return self.volunteer_id is not None

    @cached_property
    def follower(self):
        return self.load_follower()

    @cached_property
    def volunteer(self):
        return self.load_volunteer()

    @property
    def openid(self) -> str:
        return self.message.source

    def page_url(self, path: str, **query) -> str:
        """A link to a mobile page that signs the person in through this account.

        ``code`` and ``state`` are refused: OAuth adds and strips them, so the page would never see them.
        """
        clash = {"code", "state"} & set(query)
        if clash:
            raise ValueError(f"page link parameter {sorted(clash)} is lost through OAuth: rename it")
        query = {"account": self.account, **query}
        return f"{self.base_url.rstrip('/')}/m/{path.lstrip('/')}?{urlencode(query)}"


class Router:
    def __init__(self):
        self._routes: list[tuple[str, str | None, str | None, object]] = []

    def route(self, msg_type: str, event: str | None = None, key_prefix: str | None = None):
        def register(func):
            self._routes.append((msg_type.lower(), event.lower() if event else None, key_prefix, func))
            return func

        return register

    def resolve(self, msg_type: str, event: str | None, event_key: str | None):
        msg_type = (msg_type or "").lower()
        event = (event or "").lower() or None
        best, best_rank = None, -1
        for r_type, r_event, r_prefix, func in self._routes:
            if r_type != msg_type:
                continue
            if r_event is not None and r_event != event:
                continue
            if r_prefix is not None and not (event_key or "").startswith(r_prefix):
                continue
            rank = (2 if r_event else 0) + (1 + len(r_prefix) if r_prefix is not None else 0)
            if rank > best_rank:
                best, best_rank = func, rank
        return best


router = Router()

"""WeChat API access: one wechatpy client per account, tokens shared by every process.

wechatpy keeps the access token in a per-process session and, on 40001, fetches a new one
unconditionally — two processes doing that invalidate each other's token.  ``AccountClient``
keeps the token and the jsapi_ticket in the shared store, refreshes them under a lock that every
process honours (so N processes asking at once cause one fetch), and on 40001/40014/42001 drops
the cached token only if it is still the one that failed, then retries the call once.
Every URL that wechatpy hard-codes to api.weixin.qq.com is sent to the account's ``api_base``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from jobs.metrics import TOKEN_REFRESHES, WECHAT_ERRORS

from ..config import WECHAT_API_BASE, Account

log = logging.getLogger(__name__)

TOKEN_ERRORS = (40001, 40014, 42001)
# Refresh a little before WeChat's 7,200 s so a token is never used in its last minutes.
EXPIRY_MARGIN = 300
# A process reuses the token it last read for a few seconds instead of asking the store on every call
# (a fan-out sends hundreds a second).  A token refused meanwhile is forgotten at once (see _request).
TOKEN_MEMO_SECONDS = 5.0


class AccountClient(WeChatClient):
    """A wechatpy ``WeChatClient`` bound to one configured account and the shared store."""

    def __init__(self, account: Account, store, timeout: float = 5.0):
        super().__init__(account.app_id, account.app_secret, timeout=timeout, auto_retry=False)
        self.account = account
        self.store = store
        self.API_BASE_URL = account.api_base + "cgi-bin/"
        self._token_memo: tuple[str, float] | None = None  # (token, monotonic time it stops being reused)
        # requests reads proxies, netrc and the CA bundle from the environment on every call (a tenth of
        # a delivery worker's CPU in a fan-out): read them once, for this account's API host.
        self._http.trust_env = False
        self._http.proxies = requests.utils.get_environ_proxies(account.api_base)
        self._http.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    # -- URL routing -------------------------------------------------------------------------
    def _rebase(self, url: str) -> str:
        if url.startswith(WECHAT_API_BASE):
            return self.account.api_base + url[len(WECHAT_API_BASE):]
        return url

    @property
    def token_key(self) -> str:
        return f"wechat:{self.account.name}:access_token"

    @property
    def ticket_key(self) -> str:
        return f"wechat:{self.account.name}:jsapi_ticket"

    # -- access token --------------------------------------------------------------------------
    @property
    def access_token(self) -> str:
        memo = self._token_memo
        if memo and memo[1] > time.monotonic():
            return memo[0]
        token = self.store.get(self.token_key)
        if not token:
            with self.store.lock(self.token_key + ":refresh", timeout=15):
                token = self.store.get(self.token_key) or self.fetch_access_token()["access_token"]
        self._token_memo = (token, time.monotonic() + TOKEN_MEMO_SECONDS)
        return token

    def fetch_access_token(self) -> dict:
        """Fetch through ``stable_token`` (it does not rotate the token other holders use)."""
        log.info("fetching access token", extra={"account": self.account.name})
        TOKEN_REFRESHES.labels(self.account.name).inc()
        res = self._http.post(
            self.account.api_base + "cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        res.raise_for_status()
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.store.set(self.token_key, result["access_token"], max(expires_in - EXPIRY_MARGIN, 60))
        return result

    def _request(self, method, url_or_endpoint, **kwargs):
        if "api_base_url" in kwargs:
            kwargs["api_base_url"] = self._rebase(kwargs["api_base_url"])
        url_or_endpoint = self._rebase(url_or_endpoint)
        params = kwargs.setdefault("params", {})
        retry_kwargs = dict(kwargs, params=dict(params))
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        except WeChatClientException as exc:
            WECHAT_ERRORS.labels(self.account.name, str(exc.errcode)).inc()
            if exc.errcode not in TOKEN_ERRORS:
                raise
            failed = params.get("access_token")
            self._token_memo = None
            if failed:
                self.store.delete_if(self.token_key, failed)
            log.warning("access token refused, retrying once", extra={"account": self.account.name})
            retry_kwargs["params"].pop("access_token", None)
            return super()._request(method, url_or_endpoint, **retry_kwargs)

    # -- jsapi_ticket --------------------------------------------------------------------------
    def jsapi_ticket(self) -> str:
        ticket = self.store.get(self.ticket_key)
        if ticket:
            return ticket
        with self.store.lock(self.ticket_key + ":refresh", timeout=15):
            ticket = self.store.get(self.ticket_key)
            if ticket:
                return ticket
            result = self.get("ticket/getticket", params={"type": "jsapi"})
            ticket = result["ticket"]
            expires_in = int(result.get("expires_in", 7200))
            self.store.set(self.ticket_key, ticket, max(expires_in - EXPIRY_MARGIN, 60))
            return ticket

    # -- published articles -------------------------------------------------------------------
    def published_articles(self, offset: int = 0, count: int = 20) -> dict:
        """获取成功发布列表 (``freepublish/batchget``): ``{total_count, item_count, item: [{article_id,
        content: {news_item: [...]}, update_time}]}``; ``count`` is 1 to 20."""
        return self.post("freepublish/batchget", data={"offset": offset, "count": count, "no_content": 0})

    # -- media ---------------------------------------------------------------------------------
    def download_media(self, media_id: str, hd_voice: bool = False) -> tuple[bytes, str]:
        """Bytes and content type of a temporary media: ``media/get``, or with ``hd_voice`` the
        high-definition copy of a ``wx.uploadVoice`` recording (``media/get/jssdk``, voice only)."""
        endpoint = "media/get/jssdk" if hd_voice else "media/get"
        res = self.get(endpoint, params={"media_id": media_id})
        if isinstance(res, dict):
            raise WeChatClientException(res.get("errcode"), res.get("errmsg"), client=self)
        return res.content, res.headers.get("Content-Type", "application/octet-stream")


class WeChatClients:
    """The clients of every configured account, made on first use and kept per process."""

    def __init__(self, settings, store):
        self.settings = settings
        self.store = store
        self._clients: dict[str, AccountClient] = {}
        self._guard = threading.Lock()

    def client(self, account_name: str) -> AccountClient:
        with self._guard:
            if account_name not in self._clients:
                self._clients[account_name] = AccountClient(self.settings.accounts[account_name], self.store)
            return self._clients[account_name]

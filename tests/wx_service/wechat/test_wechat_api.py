"""Access token and jsapi_ticket: shared, refreshed once, dropped only when still the failing one."""

import subprocess
import sys
import time

import pytest

RACE_SCRIPT = r"""
import os, sys, time
os.environ["WX_SERVICE_NO_AUTO_UPGRADE"] = "1"
from wx_service import create_app
app = create_app(sys.argv[1])
start = float(sys.argv[2])
with app.app_context():
    client = app.extensions["wechat"].client("demo")
    while time.time() < start:
        time.sleep(0.001)
    client.get("tags/get")
print("ok")
"""


@pytest.mark.parametrize("store", ["redis", "database"])
def test_n_processes_cause_one_token_fetch(request, store):
    handle = request.getfixturevalue("app_pg" if store == "redis" else "app_lite")
    processes = 8
    start = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", RACE_SCRIPT, str(handle.config_path), str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    assert handle.sandbox.token_fetches.get("wxdemo0000000001") == 1
    assert len(handle.sandbox.calls_to("cgi-bin/tags/get")) == processes


def test_refused_token_is_dropped_and_the_call_retried_once(any_app):
    with any_app.app.app_context():
        client = any_app.app.extensions["wechat"].client("demo")
        client.get("tags/get")
        any_app.sandbox.expire_token("wxdemo0000000001")
        client.get("tags/get")
    assert any_app.sandbox.token_fetches["wxdemo0000000001"] == 2


def test_a_newer_token_is_not_dropped_by_a_late_failure(any_app):
    """Process A failed with the old token after process B already stored a new one."""
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        client = any_app.app.extensions["wechat"].client("demo")
        store.set(client.token_key, "newer-token", 600)
        assert not store.delete_if(client.token_key, "old-token")
        assert store.get(client.token_key) == "newer-token"


def test_every_call_goes_to_the_account_api_base(any_app):
    with any_app.app.app_context():
        client = any_app.app.extensions["wechat"].client("county")
        client.get("tags/get")
    assert any_app.sandbox.calls_to("cgi-bin/tags/get")[0]["appid"] == "wxcounty00000001"


@pytest.mark.parametrize("no_proxy, expected", [("", {"https": "http://proxy.example:3128"}),
                                                ("api.weixin.qq.com", {})])
def test_proxy_settings_of_the_environment_are_read_once_for_the_api_host(monkeypatch, no_proxy, expected):
    from wx_service.config import Account
    from wx_service.wechat.api import AccountClient

    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/company-ca.pem")
    account = Account(name="demo", app_id="wx1", app_secret="s", token="t", encoding_aes_key="",
                      api_base="https://api.weixin.qq.com/", oauth_base="https://open.weixin.qq.com/", main=True,
                      title="江海志愿")
    client = AccountClient(account, store=None)
    assert client._http.trust_env is False  # not read again on every call
    assert client._http.proxies == expected
    assert client._http.verify == "/etc/ssl/certs/company-ca.pem"

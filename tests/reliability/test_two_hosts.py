"""Two hosts behind one load balancer: two app servers, two workers, one scheduler, all real processes.

Each host has its own working directory and its own ``[app] media_dir``; they share PostgreSQL, Redis
and the media bucket (moto's S3 server, a process of its own) — as a city's hosts do.  WeChat is this
test process's sandbox, which records every call.  Requests alternate between the hosts as the load
balancer would send them: a photo uploaded through host A's page and fetched by host B's worker is
shown by both; WeChat's repeat of a callback that went to A is answered by B with A's reply; an OAuth
round trip that starts on A lands on B; and the access token is fetched once for all of it.
"""

from __future__ import annotations

import base64
import copy
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import tomli_w

from models import Binding, ContactMessage, WishPhoto, db
from models.media import MediaItem
from tests.support.appfactory import free_port
from tests.support.notifications import ROOT, worker_env
from tests.support.orgs import build_tree, make_volunteer
from tests.support.processes import flask_process, stop, wait_for
from tests.support.s3 import moto_s3, s3_settings  # noqa: F401  (fixtures)
from tests.support.wechat import fresh_nonce, sign, text_xml

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

DEMO = "wxdemo0000000001"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
WISH = {"name": "张亚林", "district": "崇川区", "street": "和平桥街道", "age": "76", "gender": "M",
        "phone": "13912345678", "address": "和平桥新村12幢301室", "situation": "独居老人，腿脚不便",
        "content": "希望有人帮忙修一修家里的收音机"}


@dataclass
class Host:
    name: str
    url: str
    workdir: Path
    config_path: Path
    server: subprocess.Popen | None = None


def _host(handle, tmp_path: Path, name: str, media: dict) -> Host:
    workdir = tmp_path / f"host-{name}"
    workdir.mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    config = copy.deepcopy(handle.config)  # the same secret key, database, Redis and accounts (WeChat: the sandbox)
    config["app"]["base_url"] = url
    config["app"]["media_dir"] = str(workdir / "media")  # a directory of its own, which nothing must need
    config["media"] = media
    path = workdir / "wx_service.toml"
    path.write_bytes(tomli_w.dumps(config).encode())
    return Host(name, url, workdir, path)


def _serve(host: Host) -> subprocess.Popen:
    env = dict(worker_env(host.config_path), WEB_CONCURRENCY="1", WX_SERVICE_BIND=urlsplit(host.url).netloc,
               PROMETHEUS_MULTIPROC_DIR=str(host.workdir / "metrics"))
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                             "wx_service:create_app()"], cwd=str(host.workdir), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _answers(host: Host) -> bool:
    try:
        return requests.get(host.url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _on(host: Host, url: str) -> str:
    """``url`` sent to ``host`` instead (what the load balancer does with the next request)."""
    parts = urlsplit(url)
    return urlunsplit(("http", urlsplit(host.url).netloc, parts.path, parts.query, ""))


def _sign_in(session: requests.Session, start: Host, land: Host, path: str):
    """Open ``path`` on ``start`` without a session: through the sandbox's OAuth, back to ``land``."""
    first = session.get(start.url + path, allow_redirects=False)
    assert first.status_code == 302 and "/sandbox/connect/oauth2/authorize" in first.headers["Location"]
    back = session.get(first.headers["Location"], allow_redirects=False)  # WeChat (the sandbox) gives a code
    assert back.status_code == 302 and urlsplit(back.headers["Location"]).netloc == urlsplit(start.url).netloc
    landed = session.get(_on(land, back.headers["Location"]), allow_redirects=False)
    assert landed.status_code == 302, landed.text[:500]
    return landed


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _callback(host: Host, token: str, xml: str, timestamp: str, nonce: str):
    args = {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return requests.post(host.url + "/wechat/demo", params=args, data=xml.encode(),
                         headers={"Content-Type": "text/xml"}, timeout=10)


def _claimed_wish(handle) -> int:
    """A wish published, approved and claimed by 李助人 (openid o-host-helper) — set up beside the hosts."""
    with handle.app.app_context():
        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o-host-admin", volunteer_id=admins["district"].id))
        make_volunteer("李助人", account="demo", openid="o-host-helper")
        db.session.commit()
    client = handle.client()
    with client.session_transaction() as s:
        s["openids"], s["account"] = {"demo": "o-host-elder"}, "demo"
    page = client.get("/m/wishes/new?account=demo").get_data(as_text=True)
    published = client.post("/m/wishes/new?account=demo", data={"csrf_token": _csrf(page), **WISH})
    assert published.status_code == 302, published.get_data(as_text=True)[:500]
    wish_id = int(re.search(r"/m/wishes/(\d+)", published.location).group(1))
    for openid, path, form in (("o-host-admin", f"/m/admin/wishes/{wish_id}/review", {"decision": "approve"}),
                               ("o-host-helper", f"/m/wishes/{wish_id}/claim", {"plan": "周六上午上门维修"})):
        actor = handle.client()
        with actor.session_transaction() as s:
            s["openids"], s["account"] = {"demo": openid}, "demo"
        page = actor.get(f"/m/wishes/{wish_id}?account=demo").get_data(as_text=True)
        if "csrf_token" not in page:
            page = actor.get(f"/m/admin/wishes/{wish_id}?account=demo").get_data(as_text=True)
        done = actor.post(path + "?account=demo", data={"csrf_token": _csrf(page), **form})
        assert done.status_code == 302, done.get_data(as_text=True)[:500]
    return wish_id


def test_two_hosts_share_everything_that_matters(app_pg, moto_s3, tmp_path):  # noqa: F811
    sandbox = app_pg.sandbox
    media = s3_settings(moto_s3)
    wish_id = _claimed_wish(app_pg)
    a, b = _host(app_pg, tmp_path, "a", media), _host(app_pg, tmp_path, "b", media)
    processes = []
    try:
        a.server, b.server = _serve(a), _serve(b)
        worker_b = flask_process(b.config_path, "worker", cwd=b.workdir)
        cron = flask_process(a.config_path, "cron", "--lease-seconds", "5", cwd=a.workdir)
        processes = [a.server, b.server, worker_b, cron]
        wait_for(lambda: _answers(a) and _answers(b), "both hosts answer", timeout=300, processes=processes)

        # 1. a photo uploaded through A's page, fetched by B's worker (the only one running yet), shown by both
        helper = requests.Session()
        helper.cookies.set("sandbox_openid", "o-host-helper", domain="127.0.0.1", path="/")
        complete = f"/m/me/wishes/{wish_id}/complete?account=demo"
        _sign_in(helper, a, a, complete)
        page = helper.get(a.url + complete)
        assert page.status_code == 200, page.text[:500]
        media_id = sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
        done = helper.post(a.url + complete, data={"csrf_token": _csrf(page.text), "note": "收音机修好了",
                                                   "server_ids": [media_id]}, allow_redirects=False)
        assert done.status_code == 302, done.text[:500]

        def stored():
            with app_pg.app.app_context():
                photo = WishPhoto.query.join(WishPhoto.item).filter(MediaItem.media_id == media_id).one_or_none()
                db.session.rollback()
                return photo if photo is not None and photo.state == "stored" else None

        photo = wait_for(stored, "B's worker stores the photo", timeout=180, processes=processes)
        worker_a = flask_process(a.config_path, "worker", cwd=a.workdir)
        processes.append(worker_a)
        for host in (a, b, a):
            shown = helper.get(f"{host.url}/m/wishes/photos/{photo.id}?account=demo")
            assert shown.status_code == 200 and shown.content.startswith(b"\x89PNG"), (host.name, shown.status_code)
        assert not (a.workdir / "media").exists() and not (b.workdir / "media").exists()  # in the bucket only

        # 2. WeChat's repeat of a callback that went to A is answered by B with A's reply, and no second effect
        token = app_pg.config["accounts"]["demo"]["token"]
        xml = text_xml("o-host-talker", "请问周末有什么活动？")
        timestamp, nonce = str(int(time.time())), fresh_nonce()
        first = _callback(a, token, xml, timestamp, nonce)
        repeat = _callback(b, token, xml, timestamp, nonce)
        assert first.status_code == repeat.status_code == 200
        assert repeat.text == first.text and "<Content>" in first.text
        with app_pg.app.app_context():
            assert ContactMessage.query.filter_by(content="请问周末有什么活动？").count() == 1

        # 3. an OAuth round trip that starts on A lands on B; the session then works on both
        visitor = requests.Session()
        visitor.cookies.set("sandbox_openid", "o-host-visitor", domain="127.0.0.1", path="/")
        landed = _sign_in(visitor, a, b, "/m/?account=demo")
        assert landed.headers["Location"] == "/m/?account=demo"
        for host in (b, a):
            assert visitor.get(host.url + "/m/?account=demo", allow_redirects=False).status_code == 200

        # 4. both hosts sign JS-SDK pages (each needs the access token and the ticket)
        for host in (a, b, a, b):
            signed = helper.get(host.url + "/m/jssdk-config", params={"url": host.url + "/m/?account=demo"})
            assert signed.status_code == 200 and signed.json()["signature"]
    finally:
        outputs = {proc.pid: stop(proc) for proc in processes}
    assert all(proc.returncode in (0, -15) for proc in processes), outputs
    # 5. the access token was fetched once, by whichever process needed it first, and shared
    assert len(sandbox.calls_to("cgi-bin/stable_token")) == 1
    assert len(sandbox.calls_to("cgi-bin/ticket/getticket")) == 1

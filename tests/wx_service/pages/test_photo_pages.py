"""随手拍 and 文明万象 through the pages: an accepted volunteer of a running project uploads photos
(``wx.uploadImage`` serverIds, fetched by the one media pipeline), the project admin reviews them (审照),
the wall shows the approved ones newest first with project and org, 我的相册 groups by project, an admin
withdraws one; bad input is a Chinese message with a 4xx and stores nothing."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from PIL import Image

from models import db
from models import photos as ph
from models.signup import sign_up
from tests.support.orgs import NOW, make_volunteer
from tests.support.people import csrf_token, sign_in, text
from tests.support.projects import district_project

DEMO = "wxdemo0000000001"


def jpeg(colour=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def running(app_lite):
    handle = app_lite
    with handle.app.app_context():
        project = district_project()
        taker = make_volunteer("随手拍", account="demo", openid="o-taker")
        make_volunteer("旁观者", account="demo", openid="o-bystander")
        sign_up(taker, project.id, now=NOW)
        db.session.commit()
        day = datetime.combine(project.start_date, project.daily_start) - timedelta(hours=8) + timedelta(minutes=30)
        ids = {"project": project.id, "day": day}
    handle.app.config["CLOCK_NOW"] = ids["day"]
    yield handle, ids
    handle.app.config.pop("CLOCK_NOW", None)


def upload(handle, project_id, server_ids, openid="o-taker"):
    client = sign_in(handle.client(), openid)
    page = f"/m/projects/{project_id}/photos/new?account=demo"
    return client, client.post(page, data={"csrf_token": csrf_token(client, page), "server_ids": server_ids})


def test_upload_review_wall_album_withdraw(running):
    handle, ids = running
    server_ids = [handle.sandbox.add_media(jpeg(c), "image/jpeg", jssdk=True, appid=DEMO)
                  for c in ((200, 0, 0), (0, 200, 0))]
    taker, response = upload(handle, ids["project"], server_ids)
    assert response.status_code == 302, text(response)
    handle.drain_jobs()
    album = text(taker.get("/m/me/photos?account=demo"))
    assert album.count("待审核") == 2 and "滨江公园环境保护志愿服务活动" in album
    assert 'class="photo-card"' not in text(taker.get("/m/photos?account=demo"))

    bystander = sign_in(handle.client(), "o-bystander")
    assert bystander.get(f"/m/admin/projects/{ids['project']}/photos?account=demo").status_code == 403
    admin = sign_in(handle.client(), "o-district")
    review = text(admin.get(f"/m/admin/projects/{ids['project']}/photos?account=demo"))
    photo_ids = [int(i) for i in re.findall(r'name="photo_ids" value="(\d+)"', review)]
    assert len(photo_ids) == 2
    assert bystander.get(f"/m/photos/{photo_ids[0]}/thumb?account=demo").status_code == 404  # not shown yet
    token = csrf_token(admin, f"/m/admin/projects/{ids['project']}/photos?account=demo")
    done = admin.post(f"/m/admin/projects/{ids['project']}/photos?account=demo",
                      data={"csrf_token": token, "decision": "approve", "photo_ids": [photo_ids[1]]},
                      follow_redirects=True)
    assert "已审核 1 张照片" in text(done)
    admin.post(f"/m/admin/projects/{ids['project']}/photos?account=demo",
               data={"csrf_token": token, "decision": "reject", "photo_ids": [photo_ids[0]]})

    wall = text(bystander.get("/m/photos?account=demo"))
    assert wall.count('class="photo-card"') == 1 and "崇川区志愿者协会" in wall
    thumb = bystander.get(f"/m/photos/{photo_ids[1]}/thumb?account=demo")
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.data)).size) <= 480
    assert bystander.get(f"/m/photos/{photo_ids[0]}/file?account=demo").status_code == 404  # rejected
    album = text(taker.get("/m/me/photos?account=demo"))
    assert "已展示" in album and "未通过" in album

    withdrawn = admin.post(f"/m/photos/{photo_ids[1]}/withdraw?account=demo", data={"csrf_token": token},
                           follow_redirects=True)
    assert "照片已撤下" in text(withdrawn)
    assert 'class="photo-card"' not in text(bystander.get("/m/photos?account=demo"))


def test_bad_uploads_are_refused_in_chinese_and_store_nothing(running):
    handle, ids = running
    good = handle.sandbox.add_media(jpeg(), "image/jpeg", jssdk=True, appid=DEMO)
    cases = [("o-taker", [], 400, "请至少上传一张照片"), ("o-taker", ["!!bad id"], 400, "上传结果不正确"),
             ("o-taker", [good] * 1 + [f"x{i}" for i in range(9)], 400, "最多9张"),
             ("o-bystander", [good], 403, "只有已录取参加该活动的志愿者")]
    for openid, server_ids, status, message in cases:
        _client, response = upload(handle, ids["project"], server_ids, openid)
        assert response.status_code == status and message in text(response), (openid, server_ids)
    handle.app.config["CLOCK_NOW"] = NOW  # before the activity
    _client, response = upload(handle, ids["project"], [good])
    assert response.status_code == 409 and "活动进行期间" in text(response)
    with handle.app.app_context():
        assert ph.ProjectPhoto.query.count() == 0

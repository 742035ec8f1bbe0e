"""推荐阅读 and 志愿攻略 through the pages: a street admin writes an article with a 600×420 cover and a
picture in the body; a level-2 admin above reviews it; it lists newest first; bad input stores nothing;
the account's published WeChat articles are imported once through the API client and the sandbox."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image

from models import Binding, db
from models import articles as art
from tests.support.orgs import NOW, build_tree
from tests.support.people import csrf_token, sign_in, text

BODY = "三月五日是学雷锋纪念日，崇川区各街道组织志愿者走进社区，为老人义务理发、量血压。\n[图1]\n活动持续到中午。"


def png(width=1000, height=900) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


@pytest.fixture
def city(app_lite):
    handle = app_lite
    handle.app.config["CLOCK_NOW"] = NOW
    with handle.app.app_context():
        _orgs, admins = build_tree()
        for key in ("root", "district", "street", "sibling_district"):
            db.session.add(Binding(account="demo", openid=f"o-{key}", volunteer_id=admins[key].id))
        db.session.commit()
    yield handle
    handle.app.config.pop("CLOCK_NOW", None)


def write(handle, openid="o-street", **changes):
    client = sign_in(handle.client(), openid)
    form = {"csrf_token": csrf_token(client, "/m/admin/articles/new?account=demo"), "category": "reading",
            "title": "学雷锋志愿服务走进社区", "source": "", "body": BODY, "cover": (png(), "cover.png"),
            "pictures": [(png(800, 600), "p1.png")], **changes}
    return client, client.post("/m/admin/articles/new?account=demo", data=form, content_type="multipart/form-data")


def test_write_review_publish_and_read(city):
    client, response = write(city)
    assert response.status_code == 302, text(response)
    article_id = int(re.search(r"/m/articles/(\d+)", response.location).group(1))
    page = text(client.get(response.location))
    assert "待审核" in page and "和平桥街道志愿服务支队" in page  # 来源 defaults to the author's org
    reader = sign_in(city.client(), "o-sibling_district")
    assert "学雷锋" not in text(reader.get("/m/articles?category=reading&account=demo"))
    assert reader.get(f"/m/articles/{article_id}?account=demo").status_code == 404  # not for others yet

    cover = client.get(f"/m/articles/{article_id}/cover?account=demo")
    assert Image.open(io.BytesIO(cover.data)).size == (600, 420)
    assert 'class="article-picture"' in page

    token = csrf_token(client, "/m/admin/articles/new?account=demo")
    own = client.post(f"/m/admin/articles/{article_id}/review?account=demo",
                      data={"csrf_token": token, "decision": "approve"}, follow_redirects=True)
    assert "一级、二级组织管理员审核" in text(own)  # a level-3 admin (and the author) cannot
    sibling = sign_in(city.client(), "o-sibling_district")
    assert "文章由一级、二级" in text(sibling.post(f"/m/admin/articles/{article_id}/review?account=demo",
                                               data={"csrf_token": csrf_token(sibling, "/m/admin/articles/new?account=demo"),
                                                     "decision": "approve"}, follow_redirects=True))
    reviewer = sign_in(city.client(), "o-district")
    assert "学雷锋志愿服务走进社区" in text(reviewer.get("/m/admin/articles?account=demo"))
    rtoken = csrf_token(reviewer, "/m/admin/articles/new?account=demo")
    no_reason = reviewer.post(f"/m/admin/articles/{article_id}/review?account=demo",
                              data={"csrf_token": rtoken, "decision": "reject"}, follow_redirects=True)
    assert "请填写未通过的原因" in text(no_reason)
    done = reviewer.post(f"/m/admin/articles/{article_id}/review?account=demo",
                         data={"csrf_token": rtoken, "decision": "approve"}, follow_redirects=True)
    assert "已发布" in text(done)

    listing = text(reader.get("/m/articles?category=reading&account=demo"))
    assert "学雷锋志愿服务走进社区" in listing
    assert "学雷锋" not in text(reader.get("/m/articles?category=guide&account=demo"))
    article_page = text(reader.get(f"/m/articles/{article_id}?account=demo"))
    assert "义务理发" in article_page and "[图1]" not in article_page
    assert reader.get("/m/articles?category=nonsense&account=demo").status_code == 404


@pytest.mark.parametrize("changes, message", [
    ({"title": "短"}, "标题至少4个字"), ({"body": "太短了"}, "正文至少20个字"),
    ({"category": "news"}, "请选择栏目"), ({"cover": (io.BytesIO(b""), "")}, "请上传封面图片"),
    ({"cover": (io.BytesIO(b"GIF89a not really"), "x.gif")}, "封面图片"),
])
def test_a_bad_article_is_refused_in_chinese_and_stores_nothing(city, changes, message):
    folder = os.path.join(city.config["app"]["media_dir"], "articles")
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    _client, response = write(city, **changes)
    assert 400 <= response.status_code < 500 and message in text(response)
    with city.app.app_context():
        assert art.Article.query.count() == 0
    assert (set(os.listdir(folder)) if os.path.isdir(folder) else set()) == before


def test_importing_the_accounts_published_articles_once(city):
    appid = city.config["accounts"]["demo"]["app_id"]
    city.sandbox.publish_articles(appid, [
        {"title": "志愿服务条例解读", "author": "江海志愿", "content": "<p>第一条</p><p>为了发展志愿服务事业</p>"},
        {"title": "已删除的一篇", "is_deleted": True},
        {"title": "带脚本链接的一篇", "digest": "原文链接不是网址", "url": "javascript:alert(document.cookie)"}])
    city.sandbox.publish_articles(appid, [{"title": "如何成为志愿者", "digest": "注册、绑定、报名"}])
    reviewer = sign_in(city.client(), "o-district")
    token = csrf_token(reviewer, "/m/admin/articles/new?account=demo")
    first = reviewer.post("/m/admin/articles/import?account=demo", data={"csrf_token": token, "category": "guide"},
                          follow_redirects=True)
    assert "已导入 3 篇" in text(first)
    again = reviewer.post("/m/admin/articles/import?account=demo", data={"csrf_token": token, "category": "guide"},
                          follow_redirects=True)
    assert "没有新的公众号文章" in text(again)
    listing = text(reviewer.get("/m/articles?category=guide&account=demo"))
    assert "志愿服务条例解读" in listing and "如何成为志愿者" in listing and "已删除" not in listing
    with city.app.app_context():
        scripted = art.Article.query.filter_by(title="带脚本链接的一篇").one()
        assert scripted.wechat_url is None
        page = text(reviewer.get(f"/m/articles/{scripted.id}?account=demo"))
    assert "javascript:" not in page and "阅读公众号原文" not in page
    calls = city.sandbox.calls_to("cgi-bin/freepublish/batchget")
    assert calls and calls[0]["body"] == {"offset": 0, "count": 20, "no_content": 0}
    street = sign_in(city.client(), "o-street")
    refused = street.post("/m/admin/articles/import?account=demo",
                          data={"csrf_token": csrf_token(street, "/m/admin/articles/new?account=demo"), "category": "guide"},
                          follow_redirects=True)
    assert "只有一级、二级组织管理员" in text(refused)


def test_the_sandbox_refuses_what_wechat_refuses(city):
    from wechatpy.exceptions import WeChatClientException

    with city.app.app_context():
        client = city.app.extensions["wechat"].client("demo")
        for body in ({"offset": 0, "count": 21}, {"offset": 0, "count": 0}, {"offset": -1, "count": 5}, {"count": 5}, {}):
            with pytest.raises(WeChatClientException) as refused:
                client.post("freepublish/batchget", data=body)
            assert refused.value.errcode == 47003
        assert client.published_articles(0, 20) == {"total_count": 0, "item_count": 0, "item": []}

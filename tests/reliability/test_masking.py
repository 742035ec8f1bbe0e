"""Every page a person can open shows other people's ID numbers and phones masked.

The demo city is seeded, then each page of the URL map (every id from 1 to a few) is opened by a
plain volunteer and by a stranger; no other person's whole ID number or phone may appear.  Routes are
read from the application, so later pages are covered too.
"""

import re

from models import Binding, HelpSeeker, Volunteer
from tests.support.people import sign_in
from wx_service.dev.demo import seed_demo

SKIP = ("/wechat/", "/sandbox/", "/static/", "/healthz", "/m/oauth/", "/m/jssdk-config")


def get_paths(app, ids=(1, 2)):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP):
            continue
        params = re.findall(r"<(?:[a-z]+:)?([^>]+)>", rule.rule)
        if not params:
            yield rule.rule
            continue
        if any(not re.search(rf"<int:{p}>", rule.rule) for p in params):
            continue  # free-text segments (e.g. a section name) are covered by their own tests
        for i in ids:
            yield re.sub(r"<int:[^>]+>", str(i), rule.rule)


def secrets_not_of(viewer_id):
    out = {}
    for v in Volunteer.query:
        if v.id != viewer_id:
            out[f"ID of {v.name}"] = v.id_number
            out[f"phone of {v.name}"] = v.phone
    for s in HelpSeeker.query:
        out[f"ID of seeker {s.name}"] = s.id_number
    return out


def crawl(handle, client):
    pages = {}
    for path in get_paths(handle.app):
        res = client.get(path + "?account=demo")
        if res.status_code == 200 and res.mimetype == "text/html":
            pages[path] = res.get_data(as_text=True)
    return pages


def test_a_plain_volunteer_and_a_stranger_never_see_whole_personal_data(app_lite):
    with app_lite.app.app_context():
        seed_demo()
        viewer = Binding.volunteer_for("demo", "o_demo_volunteer")
        secrets = secrets_not_of(viewer.id)
        all_secrets = secrets_not_of(None)
        own_id = viewer.id_number
    for openid, hidden in (("o_demo_volunteer", secrets), ("o_stranger_crawl", all_secrets)):
        pages = crawl(app_lite, sign_in(app_lite.client(), openid))
        assert len(pages) > 15, "the crawl should reach the site's pages"
        if openid == "o_demo_volunteer":
            assert own_id in pages["/m/me"], "the owner's own page shows the whole ID (the crawl sees real pages)"
        for path, html in pages.items():
            for what, value in hidden.items():
                assert value not in html, f"{path} shows the whole {what} to {openid}"

"""One vocabulary and pages an elder can read: the words, units and markup people see, checked in the
templates and sources and in the pages as rendered (a crawl of every page a root admin can reach)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlparse

from models import Binding, db
from tests.support.orgs import build_tree
from tests.support.people import sign_in
from tests.support.projects import publish, single_fields

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [p for folder in ("wx_service", "handlers", "models", "jobs", "menus")
           for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".html", ".js", ".css")
           and "weui" not in p.parts and "sandbox" not in p.parts and "migrations" not in p.parts]
BANNED = [
    (re.compile(r"次签(?![到退])|多签"), "单签/双签 are the manual's words"),
    (re.compile(r"(\d|\}\}|\})M[，,）)\s]"), "distances are in 米, not M"),
    (re.compile(r"user-scalable\s*=\s*no|maximum-scale"), "pinch zoom must stay on"),
    (re.compile(r"text-size-adjust\s*:\s*none"), "WeChat's font size must reach the page"),
]


def test_sources_use_one_vocabulary_and_keep_zoom_and_font_size():
    found = [(str(path.relative_to(ROOT)), why, line.strip()[:80])
             for path in SOURCES for line in path.read_text(encoding="utf-8").splitlines()
             for pattern, why in BANNED if pattern.search(line)]
    assert not found, found


def test_text_sizes_follow_the_root():
    """Sizes in rem/em scale with the reader's default size; px would not (the printed card is in mm)."""
    css = (ROOT / "wx_service/static/app.css").read_text(encoding="utf-8")
    sizes = re.findall(r"font-size:\s*([^;}]+)", css)
    assert sizes and all(re.fullmatch(r"[\d.]+r?em|100%|inherit", s.strip()) for s in sizes), sizes
    in_px = [(str(p.relative_to(ROOT)), m) for p in SOURCES if p.suffix == ".html"
             for m in re.findall(r"font-size:\s*[\d.]+px", p.read_text(encoding="utf-8"))]
    assert not in_px, in_px


def _crawl(client, starts: list[str], limit: int = 120) -> dict[str, str]:
    """GET every /m/ page reachable from ``starts`` by links (no forms), HTML by URL."""
    seen, queue, pages = set(), list(starts), {}
    while queue and len(pages) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        res = client.get(url)
        if res.status_code != 200 or not res.content_type.startswith("text/html"):
            continue
        html = res.get_data(as_text=True)
        pages[url] = html
        for href in re.findall(r'href="([^"#]+)"', html):
            target = urljoin(url, unescape(href))
            parsed = urlparse(target)
            if parsed.path.startswith("/m/") and parsed.netloc in ("", "localhost") and "/api/" not in parsed.path \
                    and not parsed.path.endswith((".png", ".jpg", ".mp3", "/photo", "/logo", "/avatar/image")):
                queue.append(parsed.path + ("?" + parsed.query if parsed.query else ""))
    return pages


def test_rendered_pages_have_plain_titles_a_favicon_and_the_vocabulary(app_lite):
    with app_lite.app.app_context():
        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o_looks_root", volunteer_id=admins["root"].id))
        publish(admins["root"], **single_fields(name="濠河边文明劝导"))
        publish(admins["root"], name="狼山脚下环境整治")
        db.session.commit()
    client = sign_in(app_lite.client(), "o_looks_root")
    pages = _crawl(client, [f"/m/{p}?account=demo" for p in ("", "me", "admin/projects", "admin/contact")])
    assert len(pages) > 30, sorted(pages)
    for path, html in pages.items():
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert "<" not in title and "&lt;" not in title and title.strip(), (path, title)
        assert 'rel="icon"' in html, path
        viewport = re.search(r'<meta name="viewport" content="([^"]+)"', html)
        assert viewport or "<body ontouchstart>" not in html, f"{path}: a phone page without a viewport"
        assert not viewport or not BANNED[2][0].search(viewport.group(1)), path
        text = re.sub(r"<[^>]+>", " ", html)
        for pattern, why in BANNED[:2]:
            assert not pattern.search(text), (path, why, pattern.search(text).group(0))
    projects = "".join(html for url, html in pages.items() if url.startswith("/m/admin/projects"))
    assert "（单签）" in projects and "（双签）" in projects

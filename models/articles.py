"""推荐阅读 and 志愿攻略: articles written by org admins on the phone, reviewed before they publish.

Manual part 3 §二.13 (推荐阅读: 资讯、学习、宣讲), the home page's 志愿攻略 (志愿培训知识), and part 2's rule
for an org's news and notices: they publish only after review.  Here the reviewer is an admin of a
level-1 or level-2 org at or above the article's org, and never its author.  The cover is 600×420
(part 2 §一's editor); the body is paragraphs of text, a paragraph ``[图N]`` standing for the N-th of
its pictures.  The account's own published WeChat articles can be imported (``freepublish/batchget``):
they are the account's own words, so they publish at once, each once (a unique WeChat key).
"""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser

from sqlalchemy import update

from .base import RuleViolation, check_length, db, insert_unique, label_of, won
from .organization import ACTIVE, Organization, admin_org_of, subtree_of
from .volunteer import Volunteer

READING, GUIDE = "reading", "guide"
CATEGORIES = {READING: "推荐阅读", GUIDE: "志愿攻略"}
PENDING, PUBLISHED, REJECTED, WITHDRAWN = "pending", "published", "rejected", "withdrawn"
STATE_LABELS = {PENDING: "待审核", PUBLISHED: "已发布", REJECTED: "未通过", WITHDRAWN: "已撤下"}
COVER_SIZE = (600, 420)
MAX_PICTURES = 9
LIMITS = {"title": (4, 64), "body": (20, 20000), "source": (0, 60)}
REVIEWER_LEVELS = (1, 2)
PICTURE_MARK = re.compile(r"^\[图(\d)\]$")


class Article(db.Model):
    """文章: one article of 推荐阅读 or 志愿攻略, its review and where it came from."""

    __tablename__ = "article"
    __table_args__ = (
        db.UniqueConstraint("wechat_key"),
        db.Index("ix_article_category_state_published_at", "category", "state", "published_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    author_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    category = db.Column(db.String(10), nullable=False)
    title = db.Column(db.String(64), nullable=False)
    source = db.Column(db.String(60), nullable=False)  # 来源: the author's org by default
    cover = db.Column(db.String(200))  # a 600×420 picture: its path in the media store
    pictures = db.Column(db.JSON, nullable=False, default=list)  # stored pictures of the body, in order
    body = db.Column(db.Text, nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    created_at = db.Column(db.DateTime, nullable=False)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reviewed_at = db.Column(db.DateTime)
    reject_reason = db.Column(db.String(200))
    published_at = db.Column(db.DateTime)
    wechat_key = db.Column(db.String(100))  # article_id:index of an imported WeChat article
    wechat_url = db.Column(db.String(500))

    org = db.relationship(Organization)
    author = db.relationship(Volunteer, foreign_keys=[author_id])

    category_label = label_of("category", CATEGORIES)
    state_label = label_of("state", STATE_LABELS)

    def blocks(self) -> list[tuple[str, object]]:
        """The body as ("text", paragraph) and ("picture", index) blocks; unplaced pictures come last."""
        out, placed = [], set()
        for paragraph in [p.strip() for p in self.body.splitlines() if p.strip()]:
            mark = PICTURE_MARK.match(paragraph)
            index = int(mark.group(1)) - 1 if mark else -1
            if mark and 0 <= index < len(self.pictures or []):
                out.append(("picture", index))
                placed.add(index)
            else:
                out.append(("text", paragraph))
        out += [("picture", i) for i in range(len(self.pictures or [])) if i not in placed]
        return out


# ---------------------------------------------------------------------------------- reading
def published(category: str, *, page: int = 1, per_page: int = 20) -> list[Article]:
    """推荐阅读 / 志愿攻略: published articles, newest first."""
    if category not in CATEGORIES:
        raise RuleViolation("category_invalid", "没有这个栏目。", 404)
    return (Article.query.filter_by(category=category, state=PUBLISHED)
            .order_by(Article.published_at.desc(), Article.id.desc()).offset((page - 1) * per_page)
            .limit(per_page).all())


def readable(article_id: int, viewer: Volunteer | None) -> Article:
    """A published article for anyone; an unpublished one for its author and its reviewers only."""
    article = db.session.get(Article, article_id)
    if article is None or (article.state != PUBLISHED and not (
            viewer is not None and (article.author_id == viewer.id or may_review(viewer, article)))):
        raise RuleViolation("article_not_found", "文章不存在或尚未发布。", 404)
    return article


def pending_for(reviewer: Volunteer) -> list[Article]:
    org = reviewer_org(reviewer)
    if org is None:
        return []
    return (Article.query.join(Organization, Organization.id == Article.org_id)
            .filter(Article.state == PENDING, subtree_of(org))
            .order_by(Article.created_at, Article.id).all())


def written_by(volunteer_id: int) -> list[Article]:
    return (Article.query.filter_by(author_id=volunteer_id)
            .order_by(Article.created_at.desc(), Article.id.desc()).limit(100).all())


# ---------------------------------------------------------------------------------- writing
def _check_length(key: str, label: str, text: str) -> str:
    return check_length(f"article_{key}", label, text, LIMITS[key])


def check_article(values: dict) -> dict:
    """The fields of an article, each alone (category, title, source, body)."""
    category = values.get("category")
    if category not in CATEGORIES:
        raise RuleViolation("category_invalid", "请选择栏目：推荐阅读或志愿攻略。")
    title = _check_length("title", "标题", " ".join(str(values.get("title") or "").split()))
    source = _check_length("source", "来源", " ".join(str(values.get("source") or "").split()))
    body = _check_length("body", "正文", str(values.get("body") or "").replace("\r\n", "\n").strip())
    return {"category": category, "title": title, "source": source, "body": body}


def write(actor: Volunteer, values: dict, *, cover: str | None, pictures: list[str], now: datetime) -> Article:
    """写文章: an admin of an approved org submits an article; it waits for review."""
    org = admin_org_of(actor.id)
    if org is None or org.status != ACTIVE:
        raise RuleViolation("forbidden", "只有已审核组织的管理员可以发布文章。", 403)
    checked = check_article(values)
    if cover is None:
        raise RuleViolation("cover_missing", "请上传封面图片（600×420）。")
    if len(pictures) > MAX_PICTURES:
        raise RuleViolation("too_many_pictures", f"正文图片最多{MAX_PICTURES}张。")
    article = Article(org_id=org.id, author_id=actor.id, category=checked["category"], title=checked["title"],
                      source=checked["source"] or org.name, cover=cover, pictures=list(pictures),
                      body=checked["body"], state=PENDING, created_at=now)
    db.session.add(article)
    db.session.flush()
    return article


# ---------------------------------------------------------------------------------- review
def reviewer_org(volunteer: Volunteer | None) -> Organization | None:
    org = admin_org_of(volunteer.id) if volunteer is not None else None
    return org if org is not None and org.status == ACTIVE and org.level in REVIEWER_LEVELS else None


def may_review(volunteer: Volunteer | None, article: Article) -> bool:
    org = reviewer_org(volunteer)
    return (org is not None and article.org.path.startswith(org.path)
            and article.author_id != volunteer.id)


def review(actor: Volunteer, article_id: int, approve: bool, *, reason: str = "", now: datetime) -> Article:
    """文章审核: a level-1/2 admin at or above the article's org (not its author) publishes or rejects it."""
    article = db.session.get(Article, article_id)
    if article is None:
        raise RuleViolation("article_not_found", "文章不存在。", 404)
    if not may_review(actor, article):
        raise RuleViolation("forbidden", "文章由一级、二级组织管理员审核（作者本人不能审核）。", 403)
    reason = " ".join((reason or "").split())[:200]
    if not approve and not reason:
        raise RuleViolation("reject_reason_required", "请填写未通过的原因。")
    values = ({"state": PUBLISHED, "published_at": now} if approve else {"state": REJECTED, "reject_reason": reason})
    if not won(update(Article).where(Article.id == article.id, Article.state == PENDING)
               .values(reviewed_by_id=actor.id, reviewed_at=now, **values)):
        raise RuleViolation("article_decided", "该文章已审核。", 409)
    db.session.expire(article)
    return article


def withdraw(actor: Volunteer, article_id: int, *, now: datetime) -> Article:
    """撤下: the author or a reviewer takes a published article down."""
    article = db.session.get(Article, article_id)
    if article is None:
        raise RuleViolation("article_not_found", "文章不存在。", 404)
    if article.author_id != actor.id and not may_review(actor, article):
        raise RuleViolation("forbidden", "只有作者或审核管理员可以撤下文章。", 403)
    if not won(update(Article).where(Article.id == article.id, Article.state == PUBLISHED)
               .values(state=WITHDRAWN)):
        raise RuleViolation("article_not_published", "该文章未在发布中。", 409)
    db.session.expire(article)
    return article


# ---------------------------------------------------------------------------------- import from WeChat
class _Text(HTMLParser):
    """The paragraphs of a WeChat article's HTML (its tags dropped; block ends become line breaks)."""

    BLOCKS = {"p", "br", "div", "section", "h1", "h2", "h3", "h4", "li"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.handle_starttag(tag, [])

    def handle_data(self, data):
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html or "")
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


def _web_link(url) -> str | None:
    """The article's 原文 address if it is a web address (a ``javascript:`` link never reaches a page)."""
    url = (url or "").strip() if isinstance(url, str) else ""
    return url if url.startswith(("https://", "http://")) and len(url) <= 500 else None


def import_published(actor: Volunteer, items: list[dict], category: str, *, now: datetime) -> int:
    """Import the account's published articles (``freepublish/batchget`` items); each once.

    Only a level-1/2 admin imports (the account speaks for the platform); imported articles publish
    at once under the importer's org.  Returns how many were new.
    """
    org = reviewer_org(actor)
    if org is None:
        raise RuleViolation("forbidden", "只有一级、二级组织管理员可以导入公众号文章。", 403)
    if category not in CATEGORIES:
        raise RuleViolation("category_invalid", "请选择栏目：推荐阅读或志愿攻略。")
    added = 0
    for item in items:
        for index, news in enumerate((item.get("content") or {}).get("news_item") or []):
            if news.get("is_deleted"):
                continue
            body = text_of(news.get("content", "")) or news.get("digest", "") or "（见原文）"
            article = Article(org_id=org.id, author_id=actor.id, category=category,
                              title=(news.get("title") or "（无标题）")[:64], source=(news.get("author") or org.name)[:60],
                              cover=None, pictures=[], body=body[:LIMITS["body"][1]], state=PUBLISHED,
                              created_at=now, published_at=now, reviewed_by_id=actor.id, reviewed_at=now,
                              wechat_key=f"{item.get('article_id')}:{index}"[:100],
                              wechat_url=_web_link(news.get("url")))
            if insert_unique(article):
                added += 1
    return added

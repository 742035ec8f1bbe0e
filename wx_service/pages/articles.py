"""推荐阅读 and 志愿攻略: the lists, an article at large font, writing one on the phone (cover 600×420,
pictures in the body), 文章审核 by level-1/2 admins, 撤下, and importing the account's published WeChat
articles (``freepublish/batchget`` through the API client).  Rules: ``models.articles``."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from wechatpy.exceptions import WeChatClientException

from jobs.storage import storage
from models import RuleViolation
from models import articles as art
from models.organization import is_active_admin

from .. import clock
from ..uploads import store_image
from . import bp
from .forms import act, attempt, page_arg
from .guards import org_admin_required, volunteer_required
from .media_files import send_stored

PICTURE_MAX_BYTES = 5 * 1024 * 1024
BODY_SIDE = 1200


def _readable_or_404(article_id: int):
    try:
        return art.readable(article_id, g.volunteer)
    except RuleViolation:
        abort(404)


@bp.get("/articles")
@volunteer_required
def articles():
    category = request.args.get("category", art.READING)
    if category not in art.CATEGORIES:
        abort(404)
    page = page_arg()
    return render_template("articles/list.html", category=category, label=art.CATEGORIES[category],
                           articles=art.published(category, page=page), page=page,
                           may_write=is_active_admin(g.volunteer.id),
                           may_review=art.reviewer_org(g.volunteer) is not None)


@bp.get("/articles/<int:article_id>")
@volunteer_required
def article(article_id: int):
    found = _readable_or_404(article_id)
    return render_template("articles/article.html", a=found, may_review=art.may_review(g.volunteer, found))


@bp.get("/articles/<int:article_id>/cover")
@volunteer_required
def article_cover(article_id: int):
    found = _readable_or_404(article_id)
    if not found.cover:
        abort(404)
    return send_stored(found.cover, "image/jpeg", max_age=3600)


@bp.get("/articles/<int:article_id>/pictures/<int:index>")
@volunteer_required
def article_picture(article_id: int, index: int):
    found = _readable_or_404(article_id)
    if index >= len(found.pictures or []):
        abort(404)
    return send_stored(found.pictures[index], "image/jpeg", max_age=3600)


# ------------------------------------------------------------------------------ writing and review
def _store_pictures() -> tuple[str | None, list[str]]:
    """The cover (600×420) and the body's pictures of the form, stored; removed again on a refusal."""
    stored: list[str] = []
    try:
        cover_file = request.files.get("cover")
        cover = None
        if cover_file is not None and cover_file.filename:
            cover = store_image(cover_file, "articles", what="封面图片", max_bytes=PICTURE_MAX_BYTES,
                                side=art.COVER_SIZE[0], fit=art.COVER_SIZE)
            stored.append(cover)
        uploads = [f for f in request.files.getlist("pictures") if f and f.filename]
        if len(uploads) > art.MAX_PICTURES:
            raise RuleViolation("too_many_pictures", f"正文图片最多{art.MAX_PICTURES}张。")
        for upload in uploads:
            stored.append(store_image(upload, "articles", what="正文图片", max_bytes=PICTURE_MAX_BYTES,
                                      side=BODY_SIDE))
    except RuleViolation:
        _remove(stored)
        raise
    return cover, stored[1:] if cover else stored


def _remove(paths) -> None:
    for path in paths:
        storage().delete(path)


@bp.route("/admin/articles/new", methods=["GET", "POST"])
@org_admin_required
def admin_article_new():
    if request.method == "GET":
        return render_template("articles/new.html", form={"category": request.args.get("category", art.READING)},
                               error=None)

    def write():
        art.check_article(request.form)  # refuse the text before storing any picture
        cover, pictures = _store_pictures()
        try:
            return art.write(g.volunteer, request.form, cover=cover, pictures=pictures, now=clock.now())
        except RuleViolation:
            _remove([p for p in [cover, *pictures] if p])
            raise

    written, refused = attempt(write)
    if refused is not None:
        return render_template("articles/new.html", form=request.form, error=refused), refused.status
    flash("文章已提交，审核通过后发布。", "success")
    return redirect(url_for("pages.article", article_id=written.id, account=g.account))


@bp.get("/admin/articles")
@org_admin_required
def admin_articles():
    return render_template("articles/admin.html", pending=art.pending_for(g.volunteer),
                           mine=art.written_by(g.volunteer.id), may_import=art.reviewer_org(g.volunteer) is not None)


@bp.post("/admin/articles/<int:article_id>/review")
@org_admin_required
def admin_article_review(article_id: int):
    approve = request.form.get("decision") == "approve"
    return act(lambda: art.review(g.volunteer, article_id, approve, reason=request.form.get("reason", ""),
                                  now=clock.now()),
               "已发布。" if approve else "已退回。", url_for("pages.admin_articles", account=g.account))


@bp.post("/admin/articles/<int:article_id>/withdraw")
@org_admin_required
def admin_article_withdraw(article_id: int):
    return act(lambda: art.withdraw(g.volunteer, article_id, now=clock.now()), "已撤下。",
               url_for("pages.admin_articles", account=g.account))


@bp.post("/admin/articles/import")
@org_admin_required
def admin_articles_import():
    """导入公众号文章: the latest 20 published articles of this account, each once."""
    back = url_for("pages.admin_articles", account=g.account)
    if art.reviewer_org(g.volunteer) is None:
        flash("只有一级、二级组织管理员可以导入公众号文章。", "error")
        return redirect(back)
    try:
        answer = current_app.extensions["wechat"].client(g.account).published_articles(0, 20)
    except WeChatClientException as exc:
        current_app.logger.warning("freepublish/batchget refused: %s", exc.errcode)
        flash("公众号文章暂时无法获取，请稍后再试。", "error")
        return redirect(back)
    added, refused = attempt(lambda: art.import_published(g.volunteer, answer.get("item") or [],
                                                          request.form.get("category", ""), now=clock.now()))
    if refused is not None:
        flash(refused.message, "error")
    else:
        flash(f"已导入 {added} 篇公众号文章。" if added else "没有新的公众号文章。", "success")
    return redirect(back)

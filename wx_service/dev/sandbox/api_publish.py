"""The sandbox's 发布能力 list: ``freepublish/batchget`` (获取成功发布列表), as WeChat answers it.

POST ``{"offset": n, "count": 1…20, "no_content": 0|1}`` (offset and count required); the answer is ``{total_count, item_count,
item: [{article_id, content: {news_item: [...]}, update_time}]}``, newest first.  A count outside
1…20, a negative offset or a body that is not that object is refused (47003), as WeChat does.
Articles get there with ``SandboxState.publish_articles`` (what 发布 in the back office does).
"""

from __future__ import annotations

from .api import err, wechat_api


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():  # WeChat takes "0" and "20" too
        return int(value)
    return None


@wechat_api("cgi-bin/freepublish/batchget", methods=("POST",))
def freepublish_batchget(state, appid, _params, body):
    if not isinstance(body, dict):
        return err(47003)
    offset, count, no_content = _int(body.get("offset")), _int(body.get("count")), _int(body.get("no_content", 0))
    if offset is None or offset < 0 or count is None or not 1 <= count <= 20 or no_content not in (0, 1):
        return err(47003)
    records = list(reversed(state.published.get(appid, [])))
    page = records[offset:offset + count]
    if no_content:
        page = [{**r, "content": {**r["content"], "news_item": [{k: v for k, v in n.items() if k != "content"}
                                                               for n in r["content"]["news_item"]]}} for r in page]
    return {"total_count": len(records), "item_count": len(page), "item": page}

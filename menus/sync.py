"""Pushes the menus to WeChat and manages the admin user tag.

``client`` is a wechatpy ``WeChatClient`` (or anything with the same ``get(endpoint,
params=...)`` and ``post(endpoint, data=dict)``), whose endpoints are relative to its API base
ending in ``cgi-bin/``. wechatpy raises ``WeChatClientException`` on a non-zero ``errcode``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .definitions import ADMIN_TAG, admin_menu, default_menu
from .validation import check

log = logging.getLogger(__name__)

#: WeChat tags at most 50 openids per batchtagging / batchuntagging call.
TAG_BATCH_SIZE = 50


def find_tag_id(client, name: str = ADMIN_TAG) -> int | None:
    """The id of the user tag called ``name``, or ``None`` (tags/get)."""
    result = client.get("tags/get", params={}) or {}
    for tag in result.get("tags", []):
        if tag.get("name") == name:
            return tag["id"]
    return None


def ensure_tag(client, name: str = ADMIN_TAG) -> int:
    """The id of the user tag called ``name``, creating it if missing (tags/create)."""
    tag_id = find_tag_id(client, name)
    if tag_id is not None:
        return tag_id
    result = client.post("tags/create", data={"tag": {"name": name}})
    tag_id = result["tag"]["id"]
    log.info("created WeChat user tag %r with id %s", name, tag_id)
    return tag_id


def _remove_stale_conditional_menus(client, tag_id, keep_menuid) -> None:
    """Delete earlier admin menus for the same tag so re-syncing doesn't pile them up."""
    try:
        current = client.get("menu/get", params={}) or {}
    except Exception:  # cleanup is best effort; the new menu is already live
        log.warning("could not read the menus back to clean up old conditional menus", exc_info=True)
        return
    for menu in current.get("conditionalmenu") or []:
        menuid = menu.get("menuid")
        rule = menu.get("matchrule") or {}
        if str(rule.get("tag_id", "")) == str(tag_id) and str(menuid) != str(keep_menuid):
            client.post("menu/delconditional", data={"menuid": str(menuid)})
            log.info("deleted stale conditional menu %s", menuid)


def sync_menus(client, base_url: str, account: str) -> dict:
    """Push the default menu and the admin conditional menu of ``account``.

    Both menus are validated before anything is sent; an invalid menu raises ``MenuError``
    with no API call made. Returns ``{"tag_id": ..., "menuid": ...}``.
    """
    # Validate first with a placeholder tag id, so a broken menu costs no API call at all.
    check(default_menu(base_url, account), conditional=False)
    check(admin_menu(base_url, account, 0), conditional=True)

    tag_id = ensure_tag(client, ADMIN_TAG)
    default = check(default_menu(base_url, account), conditional=False)
    admin = check(admin_menu(base_url, account, tag_id), conditional=True)

    client.post("menu/create", data=default)
    result = client.post("menu/addconditional", data=admin) or {}
    menuid = result.get("menuid")
    _remove_stale_conditional_menus(client, tag_id, menuid)
    log.info("menus synced for account %s (admin tag %s, conditional menu %s)", account, tag_id, menuid)
    return {"tag_id": tag_id, "menuid": menuid}


def set_admin_tag(client, openids: Iterable[str], is_admin: bool) -> int | None:
    """Add (``is_admin``) or remove the ``ADMIN_TAG`` tag on ``openids``, 50 per call.

    Returns the tag id, or ``None`` when there was no openid to tag.
    """
    openids = list(dict.fromkeys(o for o in openids if o))
    if not openids:
        return None
    tag_id = ensure_tag(client, ADMIN_TAG)
    endpoint = "tags/members/batchtagging" if is_admin else "tags/members/batchuntagging"
    for start in range(0, len(openids), TAG_BATCH_SIZE):
        batch = openids[start : start + TAG_BATCH_SIZE]
        client.post(endpoint, data={"openid_list": batch, "tagid": tag_id})
    return tag_id

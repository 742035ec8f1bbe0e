"""The account's menus as data, in WeChat's menu JSON format (自定义菜单).

Two menus: the default menu everyone sees, and a conditional menu (个性化菜单) for organization
admins (组织管理员), matched by the user tag ``ADMIN_TAG``. Page buttons are ``view`` buttons
opening the mobile pages at ``{base_url}/m/<path>?account=<account>``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from . import keys

#: Name of the WeChat user tag whose members get the admin menu.
ADMIN_TAG = "志愿组织管理员"


def page_url(base_url: str, account: str, path: str) -> str:
    """The URL of mobile page ``path`` (e.g. ``"/m/projects"``) for ``account``."""
    base = base_url.rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    return f"{base}{path}?{urlencode({'account': account})}"


def _view(name: str, base_url: str, account: str, path: str) -> dict:
    return {"type": "view", "name": name, "url": page_url(base_url, account, path)}


def _click(name: str, key: str) -> dict:
    return {"type": "click", "name": name, "key": key}


def volunteer_button(base_url: str, account: str) -> dict:
    """一级菜单“志愿者”: 志愿活动, 打卡签到, 账号绑定, 首页."""
    return {
        "name": "志愿者",
        "sub_button": [
            _view("志愿活动", base_url, account, "/m/projects"),
            _view("打卡签到", base_url, account, "/m/checkin"),
            _view("账号绑定", base_url, account, "/m/bind"),
            _view("首页", base_url, account, "/m/"),
        ],
    }


def practice_button(base_url: str, account: str) -> dict:
    """一级菜单“文明实践”: 一喊就来, 微心愿, 需求征集, 群众点单."""
    return {
        "name": "文明实践",
        "sub_button": [
            _view("一喊就来", base_url, account, "/m/help"),
            _view("微心愿", base_url, account, "/m/wishes"),
            _click("需求征集", keys.DEMAND),
            _click("群众点单", keys.ORDER),
        ],
    }


def personal_button(base_url: str, account: str) -> dict:
    """一级菜单“个人中心”: 个人中心, 我的二维码, 消息中心, 联系我们."""
    return {
        "name": "个人中心",
        "sub_button": [
            _view("个人中心", base_url, account, "/m/me"),
            _click("我的二维码", keys.MY_QRCODE),
            _view("消息中心", base_url, account, "/m/me/inbox"),
            _click("联系我们", keys.CONTACT),
        ],
    }


def organization_button(base_url: str, account: str) -> dict:
    """一级菜单“志愿组织” (admins only): 签到扫码, 报名审核, 补签审核, 活动审核, 活动发布."""
    return {
        "name": "志愿组织",
        "sub_button": [
            {"type": "scancode_waitmsg", "name": "签到扫码", "key": keys.SCAN_CHECKIN},
            _view("报名审核", base_url, account, "/m/admin/signups"),
            _view("补签审核", base_url, account, "/m/admin/makeups"),
            _view("活动审核", base_url, account, "/m/admin/reviews"),
            _view("活动发布", base_url, account, "/m/admin/publish"),
        ],
    }


def default_menu(base_url: str, account: str) -> dict:
    """The menu everyone sees (menu/create body)."""
    return {
        "button": [
            volunteer_button(base_url, account),
            practice_button(base_url, account),
            personal_button(base_url, account),
        ]
    }


def admin_menu(base_url: str, account: str, tag_id: int | str) -> dict:
    """The conditional menu for members of the ``ADMIN_TAG`` tag (menu/addconditional body)."""
    return {
        "button": [
            volunteer_button(base_url, account),
            organization_button(base_url, account),
            personal_button(base_url, account),
        ],
        "matchrule": {"tag_id": str(tag_id)},
    }

"""The account's menus as data, their validation against WeChat's limits, and their sync."""

from . import keys
from .definitions import ADMIN_TAG, admin_menu, default_menu, page_url
from .sync import TAG_BATCH_SIZE, ensure_tag, find_tag_id, set_admin_tag, sync_menus
from .validation import MenuError, check, validate_menu

__all__ = [
    "ADMIN_TAG",
    "TAG_BATCH_SIZE",
    "MenuError",
    "admin_menu",
    "check",
    "default_menu",
    "ensure_tag",
    "find_tag_id",
    "keys",
    "page_url",
    "set_admin_tag",
    "sync_menus",
    "validate_menu",
]

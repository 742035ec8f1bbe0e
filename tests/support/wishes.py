"""微心愿 fields for tests: a publish form (图3-15) and its values as the pages hand them to the model."""

from __future__ import annotations

WISH_FIELDS = {"name": "张亚林", "district": "崇川区", "street": "和平桥街道", "age": "76", "gender": "M",
               "phone": "13912345678", "address": "和平桥新村12幢301室", "situation": "独居老人，腿脚不便",
               "content": "希望有人帮忙修一修家里的收音机"}


def wish_typed(form: dict) -> dict:
    """A wish form's values as the pages hand them to ``wish_rules.publish``: parsed by ``WISH_FORM``."""
    from wx_service.pages.fields import parse
    from wx_service.pages.wishes import WISH_FORM

    return parse(WISH_FORM, form)

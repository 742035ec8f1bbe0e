"""Helpers handlers share: short Chinese replies with links."""

from __future__ import annotations


def link(url: str, text: str) -> str:
    return f'<a href="{url}">{text}</a>'

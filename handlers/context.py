"""Helpers handlers share: short Chinese replies, composed with ``models.chat_text`` so that only the
service's own links are links (a value a person typed is neutralised)."""

from __future__ import annotations

from models.chat_text import compose, join, link

__all__ = ["compose", "join", "link"]

"""Serving a stored media item (``models.media``): the one place a page reads its file.

The page checks who may see it first (each feature keeps its own access rule); an item not stored yet,
or an image without a thumbnail, is a 404.
"""

from __future__ import annotations

import os

from flask import abort, send_file

from models.media import MediaItem

from ..config import settings


def send_media(item: MediaItem | None, *, thumbnail: bool = False, **options):
    """The file of a stored ``item`` (its JPEG thumbnail with ``thumbnail=True``); ``options`` go to send_file."""
    if item is None or not item.stored:
        abort(404)
    if thumbnail:
        if not item.thumbnail_path:
            abort(404)
        return send_file(os.path.join(settings().media_dir, item.thumbnail_path), mimetype="image/jpeg", **options)
    return send_file(os.path.join(settings().media_dir, item.path), mimetype=item.content_type, **options)

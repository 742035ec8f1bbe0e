"""Serving a stored media item (``models.media``): the one place a page reads its file.

The page checks who may see it first (each feature keeps its own access rule); an item not stored yet is
a 404, and so is the thumbnail of a voice.  A photo stored before thumbnails existed serves itself.
"""

from __future__ import annotations

import os

from flask import abort, send_file

from models.media import IMAGE, MediaItem

from ..config import settings


def send_media(item: MediaItem | None, *, thumbnail: bool = False, **options):
    """The file of a stored ``item`` (its JPEG thumbnail with ``thumbnail=True``); ``options`` go to send_file."""
    if item is None or not item.stored:
        abort(404)
    if thumbnail and item.kind != IMAGE:
        abort(404)
    if thumbnail and item.thumbnail_path:
        return send_file(os.path.join(settings().app.media_dir, item.thumbnail_path), mimetype="image/jpeg", **options)
    return send_file(os.path.join(settings().app.media_dir, item.path), mimetype=item.content_type, **options)

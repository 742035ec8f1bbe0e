"""Serving a stored media item (``models.media``): the one place a page reads its file.

The file comes from the media store (``jobs.storage``: its bytes, or a redirect to a signed URL, through
``wx_service.media_files.send_stored``).  The page checks who may see it first (each feature keeps its own access rule); an item not stored yet is
a 404, and so is the thumbnail of a voice.  A photo stored before thumbnails existed serves itself.
"""

from __future__ import annotations

from flask import abort

from models.media import IMAGE, MediaItem

from ..media_files import send_stored


def send_media(item: MediaItem | None, *, thumbnail: bool = False, **options):
    """The file of a stored ``item`` (its JPEG thumbnail with ``thumbnail=True``); ``options`` go to send_file."""
    if item is None or not item.stored:
        abort(404)
    if thumbnail and item.kind != IMAGE:
        abort(404)
    if thumbnail and item.thumbnail_path:
        return send_stored(item.thumbnail_path, "image/jpeg", **options)
    return send_stored(item.path, item.content_type, **options)

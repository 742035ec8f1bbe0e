"""Serving stored media, after the page has checked who may see it (each feature keeps its own access rule).

From the media store (``jobs.storage``): the bytes passed on, or — an object store with
``[media] signed_url_seconds`` — a redirect to a URL signed for that long.  Never a public path:
the store's files have no address a person could guess or keep.  ``send_media`` serves an item of the
one media pipeline (``models.media``): an item not stored yet is a 404, and so is the thumbnail of a voice;
a photo stored before thumbnails existed serves itself.
"""

from __future__ import annotations

import io

from flask import abort, redirect, send_file

from jobs.storage import MediaMissing, storage
from models.media import IMAGE, MediaItem


def send_stored(path: str, mimetype: str, **options):
    """The response for the stored file ``path`` (``options`` as ``send_file`` takes them: conditional, max_age …)."""
    store = storage()
    url = store.signed_url(path)
    if url:
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "no-store"  # the signature expires; never keep the redirect
        return response
    options.setdefault("max_age", 0)
    local = store.local_path(path)
    if local:  # on this host's disk: sent in chunks, never read whole (an export of 120,000 rows)
        return send_file(local, mimetype=mimetype, **options)
    try:
        data = store.get(path)
    except MediaMissing:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=mimetype, **options)


def send_picture(path: str | None, **options):
    """A row's stored JPEG (a cover, a gift's picture, a logo, an avatar); a 404 where the row has none."""
    if not path:
        abort(404)
    return send_stored(path, "image/jpeg", **options)


def send_media(item: MediaItem | None, *, thumbnail: bool = False, **options):
    """The file of a stored ``item`` (its JPEG thumbnail with ``thumbnail=True``); ``options`` go to send_file."""
    if item is None or not item.stored:
        abort(404)
    if thumbnail and item.kind != IMAGE:
        abort(404)
    if thumbnail and item.thumbnail_path:
        return send_stored(item.thumbnail_path, "image/jpeg", **options)
    return send_stored(item.path, item.content_type, **options)

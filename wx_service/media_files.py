"""Answering a page's request for a stored media file, after the page has checked who may see it.

From the media store (``jobs.storage``): the bytes passed on, or — an object store with
``[media] signed_url_seconds`` — a redirect to a URL signed for that long.  Never a public path:
the store's files have no address a person could guess or keep.
"""

from __future__ import annotations

import io

from flask import abort, redirect, send_file

from jobs.storage import MediaMissing, storage


def send_stored(path: str, mimetype: str, **options):
    """The response for the stored file ``path`` (``options`` as ``send_file`` takes them: conditional, max_age …)."""
    store = storage()
    url = store.signed_url(path)
    if url:
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "no-store"  # the signature expires; never keep the redirect
        return response
    try:
        data = store.get(path)
    except MediaMissing:
        abort(404)
    options.setdefault("max_age", 0)
    return send_file(io.BytesIO(data), mimetype=mimetype, **options)

"""Pictures people upload from a form: JPEG or PNG only, size-limited, re-encoded before storing.

The picture is opened by ``models.images.open_untrusted`` (dimensions checked before decoding: a
20 KB PNG can be a decompression bomb).  Re-encoding drops whatever else the file carried (EXIF
positions, trailing payloads) and gives every stored picture the same format and a bounded size.
"""

from __future__ import annotations

import io
import secrets
from contextlib import contextmanager

from PIL import ImageOps

from jobs.storage import storage
from models import RuleViolation, images


def store_image(upload, folder: str, *, what: str, max_bytes: int, side: int, square: bool = False,
                prefix: str = "", fit: tuple[int, int] | None = None) -> str:
    """Check, re-encode and store one uploaded picture in the media store (``jobs.storage``); its path there.

    ``fit``: cropped from the centre and scaled to exactly this (width, height), e.g. a 600×420 cover.
    """
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RuleViolation(f"{folder}_too_large", f"{what}不能超过{max_bytes // (1024 * 1024)}MB。", 413)
    image = images.open_untrusted(data, what=what, code=folder, side=side)
    if fit:
        image = ImageOps.fit(image, fit)
    elif square:
        edge = min(image.size)
        left, top = (image.width - edge) // 2, (image.height - edge) // 2
        image = image.crop((left, top, left + edge, top + edge)).resize((side, side))
    else:
        image.thumbnail((side, side))
    encoded = io.BytesIO()
    image.save(encoded, "JPEG", quality=88)
    path = f"{folder}/{prefix}{secrets.token_hex(12)}.jpg"
    storage().put(path, encoded.getvalue(), "image/jpeg")
    return path


@contextmanager
def removed_if_refused(*paths: str | None):
    """Pictures stored before a rule has decided, removed again when it refuses (or anything else fails on the
    way: the store, the database): a refused form keeps nothing.

    Yields the list of the stored paths; a block that stores more pictures adds them to it."""
    stored = [path for path in paths if path]
    try:
        yield stored
    except Exception:
        for path in stored:
            storage().delete(path)
        raise

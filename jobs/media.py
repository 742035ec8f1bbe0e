"""Temporary media from WeChat (3 days to live): fetch it, tell a lost file from a passing error,
check and re-encode a photo (``models.images``), and store it under the media dir so that a second
run of the same job writes the same file.
"""

from __future__ import annotations

import os
import secrets

from flask import current_app
from requests import RequestException
from wechatpy.exceptions import WeChatClientException

from models import RuleViolation, images

from . import settings

#: WeChat says the media is gone, was never there or is of the wrong type: retrying cannot help.
GONE_MEDIA_ERRORS = (40004, 40005, 40007, 41005, 41006)
IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/gif": "gif",
                    "image/webp": "webp"}
PHOTO_SIDE = 2560  # the largest edge of a stored photo


class MediaFailure(Exception):
    """The download failed: ``permanent`` when retrying cannot help; ``original`` is what was raised."""

    def __init__(self, reason: str, permanent: bool, original: Exception | None = None):
        super().__init__(reason)
        self.reason, self.permanent, self.original = reason, permanent, original or self


#: What a caller asks for.  Every temporary media (a photo from ``wx.uploadImage``, a chat voice)
#: comes from ``media/get``; only a voice recorded with ``wx.uploadVoice`` has the high-definition
#: copy (speex 16 kHz) at ``media/get/jssdk``, where WeChat answers 40007 for anything else.
IMAGE, CHAT_VOICE, JSSDK_VOICE = "image", "chat_voice", "jssdk_voice"
MEDIA_KINDS = (IMAGE, CHAT_VOICE, JSSDK_VOICE)


def fetch(account: str, media_id: str, *, kind: str) -> tuple[bytes, str]:
    """The bytes and the bare content type of a temporary media of ``kind`` (one of ``MEDIA_KINDS``)."""
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}")
    client = current_app.extensions["wechat"].client(account)
    try:
        data, content_type = client.download_media(media_id, hd_voice=kind == JSSDK_VOICE)
    except WeChatClientException as exc:
        raise MediaFailure(f"errcode {exc.errcode}", exc.errcode in GONE_MEDIA_ERRORS, exc) from exc
    except (RequestException, OSError) as exc:
        raise MediaFailure(exc.__class__.__name__, False, exc) from exc
    return data, (content_type or "").split(";")[0].strip().lower()


def fetch_image(account: str, media_id: str) -> tuple[bytes, str]:
    """A photo the page uploaded with ``wx.uploadImage``; anything but an image is refused for good."""
    data, content_type = fetch(account, media_id, kind=IMAGE)
    if content_type not in IMAGE_EXTENSIONS:
        raise MediaFailure(f"not an image: {content_type}", True)
    return checked_image(data)


def checked_image(data: bytes) -> tuple[bytes, str]:
    """The photo decoded safely and re-encoded (no EXIF position); a bomb or a broken file fails for good."""
    try:
        return images.reencoded(data, what="照片", code="photo", side=PHOTO_SIDE)
    except RuleViolation as exc:
        raise MediaFailure(exc.code, True, exc) from exc


def store(data: bytes, folder: str, stem: str, extension: str) -> str:
    """Write atomically to ``{media_dir}/{folder}/{stem}.{extension}``; the path relative to the media dir."""
    target = os.path.join(settings().app.media_dir, folder)
    os.makedirs(target, exist_ok=True)
    name = f"{stem}.{extension}"
    temp = os.path.join(target, f".{name}.{secrets.token_hex(6)}.part")
    with open(temp, "wb") as fh:
        fh.write(data)
    os.replace(temp, os.path.join(target, name))  # same name, same bytes: a second run is harmless
    return f"{folder}/{name}"

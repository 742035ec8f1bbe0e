"""Pictures from outside — form uploads and WeChat media — opened safely: the one way to decode them.

A picture is hostile until decoded safely.  A 20 KB PNG can declare 13000×13000 pixels and take
1.4 GB to decode; so the dimensions, which ``Image.open`` reads from the header without decoding a
pixel, are checked against ``MAX_PIXELS`` first, and Pillow's own decompression-bomb check (a
warning, then an error) is a refusal too.  Only the first frame is decoded; JPEGs are decoded at a
reduced scale when a smaller picture is all that will be kept.  Whatever else a decoder raises on a
broken file is a refusal with a Chinese message (a 4xx on a page, a failed photo in a job), never a
500.  Re-encoding drops EXIF (it holds the position where the photo was taken) and trailing payloads.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from .base import RuleViolation

#: More than any phone photo WeChat passes on (12 MP is usual), far below a bomb's: 25 MP is
#: 100 MB decoded in the worst mode.
MAX_PIXELS = 25_000_000
UPLOAD_FORMATS = ("JPEG", "PNG")
MEDIA_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
_FORMAT_NAMES = {"JPEG": "JPG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP"}


def _format_refusal(code: str, what: str, formats) -> RuleViolation:
    names = [_FORMAT_NAMES[f] for f in formats]
    listed = names[0] if len(names) == 1 else "、".join(names[:-1]) + "或" + names[-1]
    return RuleViolation(f"{code}_format", f"{what}只支持{listed}格式。", 415)


def _pixel_refusal(code: str, what: str) -> RuleViolation:
    return RuleViolation(f"{code}_pixels", f"{what}的像素太多（不能超过{MAX_PIXELS // 10_000}万像素），请换一张图片。",
                         413)


def open_untrusted(data: bytes, *, what: str, code: str, formats=UPLOAD_FORMATS, side: int | None = None):
    """The first frame of ``data`` decoded, upright (EXIF orientation applied) and in RGB.

    ``what`` names the picture in the message (头像图片, 照片…), ``code`` prefixes the refusal's code;
    ``side``: the largest edge that will be kept (a JPEG is then decoded at the nearest scale above it).
    Raises RuleViolation: ``{code}_format`` (415) or ``{code}_pixels`` (413).
    """
    return _decode(data, what, code, formats, side)[0]


def _decode(data: bytes, what: str, code: str, formats, side: int | None):
    """(the RGB image, the format it came in)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=formats)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _pixel_refusal(code, what)
            if side and image.format == "JPEG":
                image.draft("RGB", (side, side))
            image.load()
            return _rgb(ImageOps.exif_transpose(image)), image.format
    except RuleViolation:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _pixel_refusal(code, what) from exc
    except Exception as exc:  # a decoder meeting a broken file raises anything: OSError, SyntaxError, ValueError…
        raise _format_refusal(code, what, formats) from exc


def _rgb(image):
    """RGB; transparent parts on white (a logo's background), not on black."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def reencoded(data: bytes, *, what: str, code: str, side: int) -> tuple[bytes, str]:
    """A picture from WeChat, checked and re-encoded within ``side`` pixels: (bytes, content type).

    A JPEG stays a JPEG; anything else becomes a PNG (no loss on screenshots and drawings).
    """
    photo, content_type, _ = reencoded_with_thumbnail(data, what=what, code=code, side=side)
    return photo, content_type


def reencoded_with_thumbnail(data: bytes, *, what: str, code: str, side: int, thumbnail_side: int | None = None
                             ) -> tuple[bytes, str, bytes | None]:
    """``reencoded`` and, decoded once, a JPEG thumbnail within ``thumbnail_side`` pixels (None without it)."""
    image, source_format = _decode(data, what, code, MEDIA_FORMATS, side)
    image.thumbnail((side, side))
    out = io.BytesIO()
    if source_format == "JPEG":
        image.save(out, "JPEG", quality=88)
        photo, content_type = out.getvalue(), "image/jpeg"
    else:
        image.save(out, "PNG")
        photo, content_type = out.getvalue(), "image/png"
    if not thumbnail_side:
        return photo, content_type, None
    image.thumbnail((thumbnail_side, thumbnail_side))
    small = io.BytesIO()
    image.save(small, "JPEG", quality=80)
    return photo, content_type, small.getvalue()

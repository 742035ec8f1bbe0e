"""Personal data at rest and on screen (志愿服务条例 art. 20).

ID numbers and phones are stored encrypted (Fernet, key ``[security] data_key``) with a keyed
hash beside them for lookups and uniqueness, so a database dump alone reveals neither.  Lists
show them masked; only the owner's own page shows them whole.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _keys() -> tuple[Fernet, bytes]:
    cached = current_app.extensions.get("wx_personal_data")
    if cached:
        return cached
    settings = current_app.config["WX_SETTINGS"]
    key = settings.security["data_key"]
    if key:
        fernet_key = key.encode()
    else:  # development only: production refuses to start without a data key
        fernet_key = base64.urlsafe_b64encode(hashlib.sha256(settings.app["secret_key"].encode()).digest())
    fernet = Fernet(fernet_key)
    hash_key = hashlib.sha256(b"lookup:" + fernet_key).digest()
    current_app.extensions["wx_personal_data"] = (fernet, hash_key)
    return fernet, hash_key


def encrypt(value: str) -> str:
    return _keys()[0].encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys()[0].decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("personal data cannot be decrypted with the configured key") from exc


def lookup_hash(value: str) -> str:
    """A keyed hash: equal values match, the hash alone does not give the value back."""
    return hmac.new(_keys()[1], value.strip().upper().encode(), hashlib.sha256).hexdigest()


def mask_id(number: str) -> str:
    """``3206**********1234``: first four and last four kept."""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 1)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """``139****5656``."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """``张*林`` for three characters, ``张*`` for two."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]

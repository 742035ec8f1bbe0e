"""Personal data at rest and on screen (志愿服务条例 art. 20).

ID numbers and phones are stored encrypted (Fernet, key ``[security] data_key``) with a keyed
hash beside them for lookups and uniqueness, so a database dump alone reveals neither.  Lists
show them masked; only the owner's own page shows them whole.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import Column, String, Text


@dataclass(frozen=True)
class Keys:
    """The Fernet key that encrypts, and the key of the lookup hash derived from it; the Fernet key's two
    halves (signing, encryption) for ``decrypt_many``."""

    fernet: Fernet
    lookup: bytes
    signing: bytes = b""
    encryption: bytes = b""


def keys_from(data_key: str, secret_key: str) -> Keys:
    """The keys for ``[security] data_key``; without one (development only: production refuses to
    start without it) a key derived from the app's secret key."""
    fernet_key = data_key.encode() if data_key else base64.urlsafe_b64encode(
        hashlib.sha256(secret_key.encode()).digest())
    raw = base64.urlsafe_b64decode(fernet_key)
    return Keys(Fernet(fernet_key), hashlib.sha256(b"lookup:" + fernet_key).digest(), raw[:16], raw[16:])


# The keys in use: those given to ``use`` in this context (a context var, so each thread sees its own), else
# those ``use_source``'s function finds — ``create_app`` installs one that answers the current app's, so two apps
# of one process (tests) each keep theirs, with no work at all for a request that reads no personal data.
_active: ContextVar[Keys | None] = ContextVar("personal_data_keys", default=None)


def _no_source() -> Keys | None:
    return None


_source: Callable[[], Keys | None] = _no_source


def use(keys: Keys | None) -> None:
    """Make ``keys`` the keys of what follows in this context (None: those of the source, if any)."""
    _active.set(keys)


def use_source(fn: Callable[[], Keys | None]) -> None:
    """Where the keys are found when none were given to ``use``: ``fn()``, None when there are none."""
    global _source
    _source = fn


def _keys() -> Keys:
    keys = _active.get() or _source()
    if keys is None:
        raise RuntimeError("personal data keys are not configured: run inside the app (create_app sets them)")
    return keys


def encrypt(value: str) -> str:
    return _keys().fernet.encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().fernet.decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("personal data cannot be decrypted with the configured key") from exc


_VERSION, _HEAD, _MAC, _BLOCK = 0x80, 9, 32, 16  # a Fernet token: version, timestamp (8), IV, ciphertext, HMAC


def decrypt_many(tokens: list[str]) -> list[str]:
    """``decrypt`` of many tokens, the same values, for exports (Fernet's setup per token is most of its cost).

    Each token's HMAC is checked as Fernet checks it (no time limit, as ``decrypt``), then all are decrypted in
    one AES-CBC pass over IV₁ C₁ IV₂ C₂ …: CBC decrypts each block with the block before it, so every token's
    ciphertext meets its own IV; the blocks the pass makes of the IVs are dropped.
    """
    keys = _keys()
    stream, sizes = [], []
    for token in tokens:
        try:
            data = base64.urlsafe_b64decode(token)
        except (TypeError, ValueError) as exc:
            raise ValueError("personal data cannot be decrypted with the configured key") from exc
        body, mac = data[:-_MAC], data[-_MAC:]
        if len(data) < _HEAD + 2 * _BLOCK + _MAC or data[0] != _VERSION or (len(body) - _HEAD) % _BLOCK \
                or not hmac.compare_digest(hmac.digest(keys.signing, body, "sha256"), mac):
            raise ValueError("personal data cannot be decrypted with the configured key")
        stream.append(body[_HEAD:])
        sizes.append(len(body) - _HEAD)
    if not stream:
        return []
    decryptor = Cipher(algorithms.AES(keys.encryption), modes.CBC(bytes(_BLOCK))).decryptor()
    plain, values, at = decryptor.update(b"".join(stream)) + decryptor.finalize(), [], 0
    for size in sizes:
        padded = plain[at + _BLOCK:at + size]  # the IV's block dropped
        values.append(padded[:-padded[-1]].decode())  # PKCS7 (the HMAC vouches for it)
        at += size
    return values


def lookup_hash(value: str) -> str:
    """A keyed hash: equal values match, the hash alone does not give the value back."""
    return hmac.new(_keys().lookup, value.strip().upper().encode(), hashlib.sha256).hexdigest()


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


def sealed_columns(masked_length: int, *, unique: bool) -> tuple[Column, Column, Column]:
    """The three columns ``seal`` fills, declared in a model as
    ``phone_encrypted, phone_hash, phone_masked = personal_data.sealed_columns(20, unique=True)``;
    a hash that is not unique is indexed (it serves lookups)."""
    lookup = {"unique": True} if unique else {"index": True}
    return (Column(Text, nullable=False), Column(String(64), nullable=False, **lookup),
            Column(String(masked_length), nullable=False))


def seal(row, field: str, value: str, mask) -> None:
    """Store ``value`` on ``row`` as ``{field}_encrypted``, ``{field}_hash`` (lookups, uniqueness) and ``{field}_masked``."""
    setattr(row, f"{field}_encrypted", encrypt(value))
    setattr(row, f"{field}_hash", lookup_hash(value))
    setattr(row, f"{field}_masked", mask(value))


def unsealed(field: str) -> property:
    """The clear value of ``{field}_encrypted``, decrypted when read, declared beside the columns:
    ``phone = personal_data.unsealed("phone")``."""
    column = f"{field}_encrypted"
    return property(lambda row: decrypt(getattr(row, column)), doc=f"{field}, decrypted")

"""The text of WeChat chat messages (callback replies and customer-service messages): only the
service's own links are links.

WeChat renders ``<a href>`` inside such text as a link, and makes bare web addresses clickable; HTML
entities (``&lt;``) are shown as typed, so escaping them the HTML way would only garble the text.  A
value a person typed (a help note, a name, a project or wish title, a reason) is *neutralised*
instead: ``<`` and ``>`` become their full-width forms and a web address loses what makes it one
(``://`` and the dots of a host name become full-width), so the message reads the same and links
nowhere.  The service's text is a ``ChatText``: ``compose`` fills a template of ours with values
(neutralised unless they are ``ChatText`` themselves, such as a ``link``), ``join`` puts lines
together.  Whatever reaches the callback's reply or a customer-service message as a plain ``str``
is neutralised whole.

Template-message values are plain text in WeChat (no tags, no links): they are sent as they are.
"""

from __future__ import annotations

import re
import string
from urllib.parse import quote

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):/+")
# host names: labels joined by dots, ending in a TLD of letters — Latin, Chinese (.中国) or punycode
# (.xn--fiqs8s); numbers such as 3.5 are left alone
_HOST = re.compile(r"(?i)(?:[\w-]+\.)+(?:xn--[a-z0-9-]+|[^\W\d_]{2,})")


class ChatText(str):
    """Text the service composed for a chat message: its links are the service's own."""


def neutralise(value) -> str:
    """``value`` as text that shows the same and can be neither a tag nor a web address."""
    text = _CONTROL.sub(" ", str(value)).replace("<", "＜").replace(">", "＞")
    text = _SCHEME.sub(lambda m: m.group(1) + "：//", text)
    return _HOST.sub(lambda m: m.group(0).replace(".", "．"), text)


class _Formatter(string.Formatter):
    def format_field(self, value, format_spec):
        text = format(value, format_spec)
        return text if isinstance(value, ChatText) else neutralise(text)


_FORMATTER = _Formatter()


def compose(template: str, **values) -> ChatText:
    """``template`` (the service's own text, ``{name}`` fields) filled with ``values``, each neutralised
    unless it is ``ChatText``."""
    return ChatText(_FORMATTER.format(template, **values))


def link(url: str, label: str) -> ChatText:
    """A link of the service's: ``url`` built by the service, ``label`` neutralised."""
    return ChatText(f'<a href="{quote(url, safe=":/?#[]@!$&()*+,;=%~.-_")}">{neutralise(label)}</a>')


def join(parts, sep: str = "\n") -> ChatText:
    """Lines (or pieces) put together; a part that is not ``ChatText`` is neutralised."""
    return ChatText(sep.join(part if isinstance(part, ChatText) else neutralise(part) for part in parts))


def as_sent(text: str) -> str:
    """What leaves for WeChat: ``ChatText`` as it is, anything else neutralised whole."""
    return text if isinstance(text, ChatText) else neutralise(text)

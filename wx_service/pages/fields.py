"""Form coercion: a small declarative spec per form turns the strings an HTML form sends into typed values.

A spec is a ``Form`` of named ``Field``s.  ``parse(spec, form)`` reads each declared field (a
``request.form`` or a plain mapping; values already typed pass through unchanged), checks it alone and
returns the typed dict; a refusal is a ``RuleViolation`` with the field's code and Chinese message.
Rules across fields (end after start, …) are not here: they stay in ``models/`` and take the typed values.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import ClassVar

from models import RuleViolation

_BLANK = object()  # "blank is not allowed": the field refuses an empty value


@dataclass(frozen=True)
class Field(ABC):
    """One form field: its Chinese label, the refusal's code and message (``{label}`` filled in),
    ``blank`` (the value an empty answer becomes; refused when not given), ``check`` (a model rule
    run on the typed value; what it returns, if anything, is the value kept: a rule may normalise) and
    ``ask`` (the message when a required field is left unanswered, ``{label}`` filled in)."""

    label: str
    code: str = "field_invalid"
    message: str = "{label}不正确。"
    required: bool = False
    blank: object = _BLANK
    check: Callable | None = None
    ask: str = "请填写{label}。"

    def refuse(self) -> RuleViolation:
        return RuleViolation(self.code, self.message.format(label=self.label))

    def read(self, raw):
        """The typed value of one answer."""
        if isinstance(raw, str):
            raw = raw.strip()
        if raw in (None, "") and self.blank is not _BLANK:
            return self.blank
        return self._checked(self.coerce(raw))

    def _checked(self, value):
        checked = self.check(value) if self.check is not None else None
        return value if checked is None else checked

    @abstractmethod
    def coerce(self, raw):
        """The answer as this field's type, or its refusal."""


@dataclass(frozen=True)
class Text(Field):
    """Text of ``low``…``high`` characters (``high=None``: no limit); ``fold`` folds inner blanks."""

    low: int = 0
    high: int | None = None
    fold: bool = False

    def coerce(self, raw):
        text = str(raw or "")
        text = " ".join(text.split()) if self.fold else text.strip()
        if not self.low <= len(text) <= (self.high if self.high is not None else len(text)):
            raise self.refuse()
        return text

    def read(self, raw):
        text = self.coerce(raw)
        # an optional field left empty is not checked; a required one is (an edit may send it empty)
        return self._checked(text) if text or self.required else text


@dataclass(frozen=True)
class _Number(Field):
    """A number within ``low``…``high`` (``None``: no bound), read by the subclass's ``convert``."""

    low: float | None = None
    high: float | None = None
    convert: ClassVar[Callable]

    def coerce(self, raw):
        try:
            number = self.convert(raw)
        except (TypeError, ValueError):
            raise self.refuse() from None
        low = self.low if self.low is not None else number
        high = self.high if self.high is not None else number
        if not low <= number <= high:
            raise self.refuse()
        return number


def _finite_float(raw) -> float:
    number = float(raw)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


@dataclass(frozen=True)
class Int(_Number):
    """A whole number within ``low``…``high``."""

    low: int | None = None
    high: int | None = None
    convert = int


@dataclass(frozen=True)
class Decimal(_Number):
    """A number (a float) within ``low``…``high``; NaN and infinities are never within."""

    convert = staticmethod(_finite_float)


@dataclass(frozen=True)
class Date(Field):
    """A day as ``YYYY-MM-DD`` (what ``<input type=date>`` sends)."""

    def coerce(self, raw):
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            raise self.refuse() from None


@dataclass(frozen=True)
class Time(Field):
    """A time of day as ``HH:MM`` or ``HH:MM:SS`` (what ``<input type=time>`` sends)."""

    def coerce(self, raw):
        if isinstance(raw, time):
            return raw
        for fmt in ("%H:%M", "%H:%M:%S"):
            try:
                return datetime.strptime(str(raw or ""), fmt).time()
            except ValueError:
                continue
        raise self.refuse()


@dataclass(frozen=True)
class Choice(Field):
    """One of ``options`` (a tuple, or a dict's keys)."""

    options: Iterable = ()

    def coerce(self, raw):
        if not isinstance(raw, str) or raw not in self.options:
            raise self.refuse()
        return raw


@dataclass(frozen=True)
class Bool(Field):
    """A checkbox or a yes/no select: ``1``, ``true``, ``on`` or ``yes`` is yes, anything else no."""

    blank: object = False

    def coerce(self, raw):
        return raw if isinstance(raw, bool) else str(raw) in ("1", "true", "on", "yes")


@dataclass(frozen=True)
class Many(Field):
    """Several of ``options`` (repeated checkboxes, or one comma-separated string); duplicates dropped."""

    options: Iterable = ()

    def read(self, raw):
        return self.coerce(raw)  # an empty choice is an answer (none of them), never ``blank``

    def coerce(self, raw):
        items = raw or []
        if isinstance(items, str):
            items = [i for i in items.replace("，", ",").split(",") if i.strip()]
        items = list(dict.fromkeys(str(i).strip() for i in items))
        if any(i not in self.options for i in items):
            raise self.refuse()
        return items


@dataclass(frozen=True)
class Form:
    """A form's fields, in the order they are checked; ``missing`` is the code of an unanswered
    required field (``{key}`` filled in); ``strict_edit``: an edit that holds a required field must
    answer it too (otherwise the field's own check refuses the empty answer)."""

    fields: dict
    missing: str = "field_missing"
    strict_edit: bool = False

    def labels(self) -> dict:
        return {key: field.label for key, field in self.fields.items()}


def parse(spec: Form, form: Mapping, *, partial: bool = False) -> dict:
    """The typed values of the fields ``spec`` declares (``partial``: only those the form holds, for an edit).

    Required fields are checked first, in order, then each field alone.
    """
    raw = {key: _answer(form, key, field) for key, field in spec.fields.items() if key in form}
    for key, field in spec.fields.items():
        if not field.required or (partial and (key not in raw or not spec.strict_edit)):
            continue
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RuleViolation(spec.missing.format(key=key), field.ask.format(label=field.label))
    return {key: spec.fields[key].read(value) for key, value in raw.items()}


def _answer(form: Mapping, key: str, field: Field):
    if isinstance(field, Many) and hasattr(form, "getlist"):
        return form.getlist(key)
    return form[key]

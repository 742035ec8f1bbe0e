"""Changing settings in a test: the app's one ``Settings`` is read-only, so a test swaps in a checked copy."""

from __future__ import annotations


def override(app, monkeypatch, section: str, **values):
    """For the rest of the test, ``app`` reads ``section`` (``"app"``, ``"accounts.NAME"``) with ``values``
    changed; the copy is checked as a file's would be, and monkeypatch puts the old settings back."""
    changed = app.config["WX_SETTINGS"].replace(section, **values)
    monkeypatch.setitem(app.config, "WX_SETTINGS", changed)
    return changed

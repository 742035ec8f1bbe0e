"""Fixtures two or more model tests share: an app context (what the test left uncommitted rolled back)
and ``build_tree``'s orgs and admins in it."""

from __future__ import annotations

import pytest

from models import db
from tests.support.orgs import build_tree


@pytest.fixture
def ctx(app_lite):
    with app_lite.app.app_context():
        yield app_lite
        db.session.rollback()


@pytest.fixture
def tree(ctx):
    return build_tree()

"""Helpers for the customer page tests: log in and post forms like a browser (CSRF on)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.standalone.users import User

from ..accounts import factories
from ..accounts.factories import make_catalog
from ..browsing import csrf_token
from ..conftest import app_on_copy


def page_token(client: FlaskClient) -> str:
    """Return a CSRF token as a browser has one: from the log-in page, or any signed-in page."""
    page = client.get("/login")
    if page.status_code != 200:  # signed in: the log-out form carries one
        page = client.get("/pricing")
    return csrf_token(page.get_data(as_text=True))


def make_user(email: str, *, staff: bool = False) -> User:
    """Create a user without a password (hashing one is slow); they log in with ``log_in``."""
    return factories.make_user(email, staff=staff, password=None)


def make_account(slug: str, *, owner: str | None = None) -> Account:
    """Create an account, owned by a new password-less user ``owner`` when given, and commit."""
    return factories.make_account(slug, owner=owner, password=None)


def post_form(client: FlaskClient, page_url: str, action: str, data: dict[str, Any] | None = None):
    """Open ``page_url`` and post ``data`` to ``action`` with the page's CSRF token."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    fields = {"csrf_token": csrf_token(page.get_data(as_text=True)), **(data or {})}
    return client.post(action, data=fields)


def text(response) -> str:
    """Return the response body with HTML entities decoded and whitespace collapsed."""
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """An app with the billing sandbox on and the test catalog loaded."""
    yield from app_on_copy(tmp_path, sqlite_template, "pages", make_catalog, TIERGATE_SANDBOX=True)

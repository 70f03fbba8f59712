"""Helpers for the customer page tests: log in and post forms like a browser (CSRF on)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account, User
from tiergate.accounts.services import create_account, create_user, find_user
from tiergate.db import db

from ..accounts.factories import SYSTEM, make_catalog
from ..conftest import app_on_copy

PASSWORD = "correct horse"


def csrf_token(page: str) -> str:
    """Return the CSRF token of the first form on ``page``."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert found, "the page has no CSRF token"
    return found.group(1)


def page_token(client: FlaskClient) -> str:
    """Return a CSRF token as a browser has one: from the log-in page, or any signed-in page."""
    page = client.get("/login")
    if page.status_code != 200:  # signed in: the log-out form carries one
        page = client.get("/pricing")
    return csrf_token(page.get_data(as_text=True))


def make_user(email: str, *, staff: bool = False) -> User:
    """Create a user without a password (hashing one is slow); they log in with ``log_in``."""
    return create_user(email, display_name="", is_staff=staff, actor=SYSTEM)


def make_account(slug: str, *, owner: str | None = None) -> Account:
    """Create an account, owned by a new user ``owner`` when given, and commit."""
    owner_user = make_user(owner) if owner else None
    account = create_account(slug.title(), slug=slug, owner=owner_user, actor=SYSTEM)
    db.session.commit()
    return account


def log_in(client: FlaskClient, email: str) -> None:
    """Start a session for ``email``, as a completed log-in does (the form is tested apart)."""
    user = find_user(email)
    assert user is not None, email
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def log_in_with_form(client: FlaskClient, email: str) -> None:
    """Log in through the log-in form (the user needs the password ``PASSWORD``)."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


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
    yield from app_on_copy(tmp_path, sqlite_template, "pages", make_catalog, SANDBOX=True)

"""Console apps: a migrated SQLite database with the test catalog, accounts and users."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account, Membership
from tiergate.db import db

from ..accounts.factories import make_account, make_catalog, make_user
from ..browsing import log_in_with_form
from ..conftest import app_on_copy, http_client

STRIPE_SECRET = "whsec_console_tests"


@dataclass
class Cast:
    """The people of the console tests: a customer account's members and a staff user."""

    account: Account
    emails: dict[str, str]


@pytest.fixture
def console_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """A SQLite app at head with the test catalog and a Stripe webhook secret."""
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "console",
        make_catalog,
        TIERGATE_STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
    )


@pytest.fixture
def cast(console_app: Flask) -> Cast:
    """Account acme with an owner, an admin and a member; a staff user in no account."""
    account = make_account("acme", owner="owner@acme.test")
    emails = {"owner": "owner@acme.test", "staff": "staff@tiergate.test"}
    for role in ("admin", "member"):
        user = make_user(f"{role}@acme.test")
        db.session.add(Membership(account=account, user_id=user.id, role=role))
        emails[role] = user.email
    make_user(emails["staff"], staff=True)
    db.session.commit()
    return Cast(account, emails)


@pytest.fixture
def staff(console_app: Flask, cast: Cast) -> FlaskClient:
    """A client logged in as the staff user."""
    client = http_client(console_app)
    log_in_with_form(client, cast.emails["staff"])
    return client

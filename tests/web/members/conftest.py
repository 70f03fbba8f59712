"""Acme on Team with people in every role, for the members page tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tiergate.accounts.models import Account, Membership
from tiergate.db import db, utcnow

from ...accounts.factories import make_catalog, subscribe
from ..support import make_account, make_user


@pytest.fixture
def acme(app) -> Account:
    """Acme on Team (10 seats): an owner, an admin and a member; Other owned elsewhere."""
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "team", period_end=utcnow() + timedelta(days=30), updated_at=utcnow())
    for email, role in (("admin@acme.test", "admin"), ("member@acme.test", "member")):
        user = make_user(email)
        db.session.add(Membership(account_id=account.id, user_id=user.id, role=role))
    make_account("other", owner="owner@other.test")
    make_user("staff@tiergate.test", staff=True)
    db.session.commit()
    return account

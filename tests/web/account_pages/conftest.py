"""Acme Widgets on the demo catalog's Pro plan, with an owner, an admin and a member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account, Membership
from tiergate.audit.models import AuditEvent
from tiergate.db import db, utcnow

from ...accounts.factories import subscribe
from ...conftest import app_on_copy
from ..support import make_account, make_user
from ..test_pricing_prices import load_demo_catalog

SLUG = "acme-widgets"
NAME = "Acme Widgets"


@pytest.fixture
def app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """An app with the demo catalog: Pro and Team include the API (``api.access``)."""
    yield from app_on_copy(tmp_path, sqlite_template, "demo", load_demo_catalog)


@pytest.fixture
def widgets(app: Flask) -> Account:
    """Acme Widgets on Pro: owner, admin and member; Other Co owned by someone else."""
    account = make_account(SLUG, owner="owner@acme.test")
    account.name = NAME
    subscribe(account, "pro", period_end=utcnow() + timedelta(days=30), updated_at=utcnow())
    for email, role in (("admin@acme.test", "admin"), ("member@acme.test", "member")):
        user = make_user(email)
        db.session.add(Membership(account_id=account.id, user_id=user.id, role=role))
    make_account("other-co", owner="owner@other.test")
    db.session.commit()
    return account


def audit_actions(target_type: str) -> list[str]:
    """Return the audit log's actions on ``target_type`` rows, oldest first."""
    db.session.rollback()  # see what the requests committed
    query = sa.select(AuditEvent.action).where(AuditEvent.target_type == target_type)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))

"""Twenty simultaneous invitations of one e-mail to one account: exactly one is created."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account, Invitation
from tiergate.accounts.seats import invite_member
from tiergate.db import begin_write_transaction, db
from tiergate.errors import Conflict

from ..racing import race
from .factories import NOW, SYSTEM, make_account, make_catalog, subscribe

ATTEMPTS = 20
TRIALS = 3


def _prepare(slug: str) -> int:
    account = make_account(slug, owner=f"owner@{slug}.test", password=None)
    subscribe(account, "team")  # 10 seats: the seat limit is not what stops the racers
    return account.id


def _race(app: Flask, account_id: int) -> list[str]:
    def attempt(index: int) -> str:
        try:
            begin_write_transaction()
            account = db.session.get_one(Account, account_id)
            invite_member(account, "same@acme.test", actor=SYSTEM, now=NOW)
            db.session.commit()
            return "invited"
        except Conflict as error:
            db.session.rollback()
            assert "already has a pending invitation" in error.message
            return error.code

    return race(app, ATTEMPTS, attempt)


def _assert_exactly_one_invitation(outcomes: list[str], account_id: int) -> None:
    db.session.rollback()
    invitations = db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).where(
            Invitation.account_id == account_id, Invitation.email == "same@acme.test"
        )
    )
    assert invitations == 1, outcomes
    assert outcomes.count("invited") == 1
    assert outcomes.count("conflict") == ATTEMPTS - 1


def _run(app: Flask) -> None:
    make_catalog()
    for trial in range(TRIALS):
        account_id = _prepare(f"acme{trial}")
        _assert_exactly_one_invitation(_race(app, account_id), account_id)


def test_invitation_race_on_sqlite(app):
    _run(app)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_invitation_race_on_a_server(backend_app, backend):
    with backend_app(backend) as application:
        _run(application)

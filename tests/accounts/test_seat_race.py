"""Twenty simultaneous invitations for one free seat, on real concurrent connections."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account, Invitation
from tiergate.accounts.seats import SeatLimitReached, invite_member
from tiergate.db import begin_write_transaction, db
from tiergate.entitlements.services import fresh_entitlements

from ..racing import race
from .factories import NOW, SYSTEM, make_account, make_catalog, subscribe

ATTEMPTS = 20


def _prepare_one_free_seat() -> int:
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro")  # 3 seats: the owner, one invitation, one free
    begin_write_transaction()
    invite_member(account, "first@acme.test", actor=SYSTEM, now=NOW)
    db.session.commit()
    return account.id


def _race(app: Flask, account_id: int) -> list[str]:
    def attempt(index: int) -> str:
        try:
            begin_write_transaction()
            account = db.session.get_one(Account, account_id)
            invite_member(account, f"racer{index}@acme.test", actor=SYSTEM, now=NOW)
            db.session.commit()
            return "invited"
        except SeatLimitReached as error:
            db.session.rollback()
            assert (error.details["used"], error.details["limit"]) == (3, 3)
            return error.code

    return race(app, ATTEMPTS, attempt)


def _assert_exactly_one_seat_taken(outcomes: list[str], account_id: int) -> None:
    assert outcomes.count("invited") == 1
    assert outcomes.count("seat_limit_reached") == ATTEMPTS - 1
    db.session.commit()
    entitlements = fresh_entitlements(account_id, NOW)
    assert (entitlements.seats_used, entitlements.seat_limit) == (3, 3)
    pending = db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).where(Invitation.account_id == account_id)
    )
    assert pending == 2


def test_seat_race_on_sqlite(app):
    account_id = _prepare_one_free_seat()
    _assert_exactly_one_seat_taken(_race(app, account_id), account_id)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_seat_race_on_a_server(backend_app, backend):
    with backend_app(backend) as application:
        account_id = _prepare_one_free_seat()
        _assert_exactly_one_seat_taken(_race(application, account_id), account_id)

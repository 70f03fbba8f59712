"""Seats: members + pending invitations, capped by the effective tier's user limit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import (
    SeatLimitReached,
    accept_invitation,
    add_member,
    find_invitation,
    hash_token,
    invite_member,
    remove_member,
    revoke_invitation,
)
from tiergate.accounts.services import create_account
from tiergate.audit.services import Actor
from tiergate.db import WriteTransactionRequired, begin_write_transaction, db
from tiergate.entitlements.services import entitlements_for
from tiergate.errors import Conflict, NotFound, ValidationError
from tiergate.standalone.users import create_user

from .factories import DAY, NOW, SYSTEM, make_account, make_catalog, make_user, subscribe


@pytest.fixture
def account(app):
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro", updated_at=NOW - 2 * DAY)  # 3 seats
    return account


def invite(account, email, **options):
    begin_write_transaction()
    invitation, token = invite_member(account, email, actor=SYSTEM, now=NOW, **options)
    db.session.commit()
    return invitation, token


def test_an_invitation_takes_a_seat_and_stores_only_the_token_hash(account):
    invitation, token = invite(account, " New@Acme.TEST ", role="admin")
    assert invitation.email == "new@acme.test" and invitation.role == "admin"
    assert invitation.token_hash == hash_token(token) and token not in invitation.token_hash
    assert invitation.expires_at == NOW + 7 * DAY
    assert find_invitation(token) is invitation
    assert entitlements_for(account, now=NOW).seats_used == 2


def test_accepting_converts_the_seat(account):
    user = make_user("new@acme.test")
    db.session.commit()
    _, token = invite(account, "new@acme.test", role="admin")
    membership = accept_invitation(token, user, actor=Actor.user(user), now=NOW + DAY)
    db.session.commit()
    assert (membership.user_id, membership.role) == (user.id, "admin")
    assert entitlements_for(account, now=NOW + DAY).seats_used == 2
    with pytest.raises(ValidationError, match="already used"):
        accept_invitation(token, user, actor=SYSTEM, now=NOW + DAY)


@pytest.mark.parametrize(
    ("email", "when", "message"),
    [
        ("other@acme.test", NOW, "this invitation is for new@acme.test"),
        ("new@acme.test", NOW + 8 * DAY, "expired"),
    ],
)
def test_accept_refusals(account, email, when, message):
    user = make_user(email)
    db.session.commit()
    _, token = invite(account, "new@acme.test")
    with pytest.raises(ValidationError, match=message):
        accept_invitation(token, user, actor=SYSTEM, now=when)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Membership.id))) == 1


def test_an_unknown_token_is_not_found(account):
    user = make_user("x@acme.test")
    db.session.commit()
    with pytest.raises(NotFound):
        accept_invitation("not-a-token", user, actor=SYSTEM)


def test_inviting_beyond_the_limit_is_refused_with_used_limit_and_upgrades(account):
    invite(account, "a@acme.test")
    invite(account, "b@acme.test")
    begin_write_transaction()
    with pytest.raises(SeatLimitReached) as raised:
        invite_member(account, "c@acme.test", actor=SYSTEM, now=NOW)
    error = raised.value
    assert (error.code, error.status) == ("seat_limit_reached", 409)
    assert error.details == {
        "used": 3,
        "limit": 3,
        "tier": "pro",
        "upgrade_to": ["team", "enterprise"],
    }
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 2


def test_adding_a_member_beyond_the_limit_is_refused(account):
    users = [make_user(f"u{i}@acme.test") for i in range(3)]
    db.session.commit()
    for user in users[:2]:
        begin_write_transaction()
        add_member(account, user, actor=SYSTEM, now=NOW)
        db.session.commit()
    begin_write_transaction()
    with pytest.raises(SeatLimitReached):
        add_member(account, users[2], actor=SYSTEM, now=NOW)


def test_revoking_or_expiry_frees_the_seat(account):
    invite(account, "a@acme.test")
    second, _ = invite(account, "b@acme.test")
    begin_write_transaction()
    revoke_invitation(second, actor=SYSTEM, now=NOW)
    db.session.commit()
    invite(account, "c@acme.test")  # takes the freed seat
    assert entitlements_for(account, now=NOW).seats_used == 3
    assert entitlements_for(account, now=NOW + 8 * DAY).seats_used == 1


def test_a_downgrade_deletes_nobody_but_blocks_new_seats(account):
    users = [make_user(f"u{i}@acme.test") for i in range(2)]
    db.session.commit()
    for user in users:
        begin_write_transaction()
        add_member(account, user, actor=SYSTEM, now=NOW)
        db.session.commit()
    subscribe(account, "pro", status="canceled", updated_at=NOW - DAY)  # back to free: 1 seat
    entitlements = entitlements_for(account, now=NOW)
    assert (entitlements.seats_used, entitlements.seat_limit, entitlements.over_limit) == (
        3,
        1,
        True,
    )
    assert entitlements.seats_free == 0
    assert db.session.scalar(sa.select(sa.func.count(Membership.id))) == 3
    begin_write_transaction()
    with pytest.raises(SeatLimitReached) as raised:
        invite_member(account, "late@acme.test", actor=SYSTEM, now=NOW)
    assert raised.value.details["upgrade_to"] == ["team", "enterprise"]  # pro holds only 3


def test_accepting_is_refused_when_a_downgrade_left_the_account_over_its_limit(account):
    user = make_user("new@acme.test")
    db.session.commit()
    _, token = invite(account, "new@acme.test")
    invite(account, "other@acme.test")
    subscribe(account, "pro", status="canceled", updated_at=NOW - DAY)
    with pytest.raises(SeatLimitReached):
        accept_invitation(token, user, actor=SYSTEM, now=NOW)


def test_duplicates_are_refused(account):
    invite(account, "a@acme.test")
    begin_write_transaction()
    with pytest.raises(Conflict, match="already has a pending invitation"):
        invite_member(account, "A@acme.test", actor=SYSTEM, now=NOW)
    db.session.rollback()
    begin_write_transaction()
    with pytest.raises(Conflict, match="already a member"):
        invite_member(account, "owner@acme.test", actor=SYSTEM, now=NOW)


def test_bad_role_or_email_is_refused(account):
    begin_write_transaction()
    with pytest.raises(ValidationError, match="unknown role"):
        invite_member(account, "a@acme.test", role="god", actor=SYSTEM)
    with pytest.raises(ValidationError, match="not a valid e-mail"):
        invite_member(account, "not-an-email", actor=SYSTEM)


def test_the_last_owner_stays(account):
    owner = db.session.scalars(sa.select(Membership)).one()
    begin_write_transaction()
    with pytest.raises(ValidationError, match="last owner"):
        remove_member(owner, actor=SYSTEM)


def test_a_transaction_that_wrote_cannot_become_a_write_transaction_late(app):
    create_user("a@acme.test", actor=SYSTEM)
    with pytest.raises(WriteTransactionRequired):
        begin_write_transaction()


def test_a_read_only_transaction_is_restarted_for_writing(app):
    make_catalog()
    account = create_account("Acme", owner=None, actor=SYSTEM)
    db.session.commit()
    assert account.slug == "acme"  # a read: the transaction has begun
    connection = begin_write_transaction()
    assert connection.get_execution_options()["sqlite_begin"] == "IMMEDIATE"
    invite_member(account, "a@acme.test", actor=SYSTEM, now=NOW)
    db.session.commit()


def test_seats_on_every_backend(any_backend_app):
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    invite_member_result = None
    begin_write_transaction()
    with pytest.raises(SeatLimitReached):  # free: one seat, the owner's
        invite_member_result = invite_member(account, "a@acme.test", actor=SYSTEM, now=NOW)
    db.session.rollback()
    assert invite_member_result is None
    subscribe(account, "pro")
    begin_write_transaction()
    invite_member(account, "a@acme.test", actor=SYSTEM, now=NOW)
    db.session.commit()
    assert entitlements_for(account, now=NOW).seats_used == 2


@pytest.mark.parametrize(
    "address",
    [
        "<b>x</b>@example.com",
        '"quoted"@example.com',
        "two words@example.com",
        "no-domain@",
        "dots..twice@example.com",
        "x@-dash.example.com",
        "x@example",
    ],
)
def test_an_address_that_is_not_an_e_mail_is_refused(account, address):
    """One rule (sign-up uses it too): markup, quotes and spaces never get stored."""
    with pytest.raises(ValidationError, match="is not a valid e-mail address"):
        invite(account, address)


@pytest.mark.parametrize(
    "address", ["o'brien@example.ie", "first.last+tag@mail.example.co.uk", "X@Example.COM"]
)
def test_ordinary_addresses_are_accepted(account, address):
    invitation, _ = invite(account, address)
    assert invitation.email == address.lower()

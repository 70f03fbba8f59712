"""Leaving an organisation: a member leaves, the last owner cannot, a stranger is told so."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.members import leave_account
from tiergate.accounts.models import Account, Membership
from tiergate.audit.models import AuditEvent
from tiergate.db import begin_write_transaction, db
from tiergate.errors import NotFound, ValidationError
from tiergate.standalone.users import find_user

from .factories import SYSTEM, make_account, make_catalog, make_user


@pytest.fixture
def acme(app) -> Account:
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    member = make_user("member@acme.test")
    db.session.add(Membership(account_id=account.id, user_id=member.id, role="member"))
    make_user("stranger@acme.test")
    db.session.commit()
    begin_write_transaction()  # as a request does before a change
    return account


def members(account: Account) -> set[int]:
    query = sa.select(Membership.user_id).where(Membership.account_id == account.id)
    return set(db.session.scalars(query))


def test_a_member_leaves_and_a_stranger_is_told(acme) -> None:
    with pytest.raises(NotFound, match="you are not a member of Acme"):
        leave_account(acme, find_user("stranger@acme.test"), actor=SYSTEM)
    member = find_user("member@acme.test")
    leave_account(acme, member, actor=SYSTEM)
    assert member.id not in members(acme)
    last = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())).first()
    assert last == "membership.deleted"


def test_the_last_owner_cannot_leave(acme) -> None:
    before = members(acme)
    with pytest.raises(ValidationError, match="you are the last owner of Acme: make another"):
        leave_account(acme, find_user("owner@acme.test"), actor=SYSTEM)
    assert members(acme) == before

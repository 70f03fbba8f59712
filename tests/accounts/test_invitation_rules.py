"""One pending invitation per e-mail and account; owner invitations are an owner's to manage."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.members import (
    MemberActionForbidden,
    resend_invitation,
    revoke_pending_invitation,
)
from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import (
    AlreadyMember,
    accept_invitation,
    add_member,
    hash_token,
    invite_member,
    settle_invitation_of_member,
)
from tiergate.audit.services import Actor
from tiergate.db import begin_write_transaction, db
from tiergate.entitlements.services import fresh_entitlements
from tiergate.errors import Conflict, ValidationError

from .factories import DAY, NOW, SYSTEM, make_account, make_catalog, make_user, subscribe


@pytest.fixture
def account(app):
    make_catalog()
    account = make_account("acme", owner="owner@acme.test", password=None)
    subscribe(account, "team", updated_at=NOW - 2 * DAY)  # 10 seats
    return account


def invite(account, email, *, now=NOW, **options):
    begin_write_transaction()
    invitation, token = invite_member(account, email, actor=SYSTEM, now=now, **options)
    db.session.commit()
    return invitation, token


def seats_used(account, now=NOW) -> int:
    db.session.rollback()
    return fresh_entitlements(account.id, now).seats_used


def pending_for(email: str, now=NOW) -> list[Invitation]:
    db.session.rollback()
    invitations = db.session.scalars(sa.select(Invitation).where(Invitation.email == email))
    return [invitation for invitation in invitations if invitation.is_pending(now)]


def test_resending_an_expired_invitation_is_refused_when_a_newer_one_is_pending(account):
    stale, _ = invite(account, "late@acme.test")
    later = NOW + 8 * DAY  # the first one has expired
    invite(account, "late@acme.test", now=later)
    begin_write_transaction()
    with pytest.raises(Conflict, match="already has a pending invitation"):
        resend_invitation(stale, manager_role="owner", actor=SYSTEM, now=later)
    db.session.rollback()
    assert len(pending_for("late@acme.test", later)) == 1


def test_resending_is_refused_once_the_e_mail_is_a_member(account):
    invitation, _ = invite(account, "joined@acme.test")
    user = make_user("joined@acme.test", password=None)
    db.session.commit()
    begin_write_transaction()
    add_member(account, user, actor=SYSTEM, now=NOW)
    db.session.commit()
    begin_write_transaction()
    with pytest.raises(Conflict, match="already a member"):
        resend_invitation(invitation, manager_role="owner", actor=SYSTEM, now=NOW)


def test_accepting_as_a_member_is_refused_then_the_invitation_stops_holding_a_seat(account):
    _, token = invite(account, "joined@acme.test")
    user = make_user("joined@acme.test", password=None)
    db.session.commit()
    begin_write_transaction()
    add_member(account, user, actor=SYSTEM, now=NOW)
    db.session.commit()
    assert seats_used(account) == 3  # the owner, the member, the invitation still held
    begin_write_transaction()
    with pytest.raises(AlreadyMember, match="already a member"):
        accept_invitation(token, user, actor=Actor.user(user), now=NOW)
    db.session.rollback()
    begin_write_transaction()
    settle_invitation_of_member(token, user, actor=Actor.user(user), now=NOW)
    db.session.commit()
    assert seats_used(account) == 2
    assert pending_for("joined@acme.test") == []


def test_two_pending_invitations_left_by_older_versions_cannot_break_accepting(account):
    """Data written before the rule: accepting one settles the other, no IntegrityError."""
    _, first = invite(account, "twice@acme.test")
    second = "second-token"
    db.session.add(
        Invitation(
            account_id=account.id,
            email="twice@acme.test",
            role="member",
            token_hash=hash_token(second),
            expires_at=NOW + 7 * DAY,
        )
    )
    db.session.commit()
    user = make_user("twice@acme.test", password=None)
    db.session.commit()
    assert seats_used(account) == 3
    begin_write_transaction()
    accept_invitation(second, user, actor=Actor.user(user), now=NOW)
    db.session.commit()
    assert seats_used(account) == 2  # the older invitation no longer holds a seat
    begin_write_transaction()
    with pytest.raises(ValidationError, match="was revoked"):
        accept_invitation(first, user, actor=Actor.user(user), now=NOW)
    db.session.rollback()
    members = db.session.scalar(
        sa.select(sa.func.count(Membership.id)).where(Membership.user_id == user.id)
    )
    assert members == 1


def test_only_an_owner_may_revoke_or_resend_an_owner_invitation(account):
    boss, _ = invite(account, "boss@acme.test", role="owner")
    helper, _ = invite(account, "helper@acme.test", role="member")
    begin_write_transaction()
    with pytest.raises(MemberActionForbidden):
        revoke_pending_invitation(boss, manager_role="admin", actor=SYSTEM, now=NOW)
    db.session.rollback()
    begin_write_transaction()
    with pytest.raises(MemberActionForbidden):
        resend_invitation(boss, manager_role="admin", actor=SYSTEM, now=NOW)
    db.session.rollback()
    begin_write_transaction()
    with pytest.raises(MemberActionForbidden):
        revoke_pending_invitation(helper, manager_role="member", actor=SYSTEM, now=NOW)
    db.session.rollback()
    assert len(pending_for("boss@acme.test")) == 1
    begin_write_transaction()
    revoke_pending_invitation(helper, manager_role="admin", actor=SYSTEM, now=NOW)
    revoke_pending_invitation(boss, manager_role="owner", actor=SYSTEM, now=NOW)
    db.session.commit()
    assert pending_for("boss@acme.test") == [] and pending_for("helper@acme.test") == []

"""Seats: members and pending invitations, capped by the effective tier's user limit.

Checking the limit and taking the seat happen in one transaction that holds the account's
write lock: ``SELECT ... FOR UPDATE`` on the account row on PostgreSQL and MariaDB; on SQLite
the whole transaction starts with ``BEGIN IMMEDIATE`` (``begin_write_transaction``), because a
deferred transaction that has read cannot reliably upgrade to a writer.

Every change to an account's members or invitations takes that lock first, then reads what
it checks with locking reads: one lock order (account row, then its members and invitations)
for all of them, and under MariaDB's REPEATABLE READ a plain read after the lock could still
see a snapshot from before it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..audit.services import Actor, record_audit_event, snapshot
from ..db import begin_write_transaction, db, utcnow
from ..entitlements.check import SEAT_LIMIT_REACHED, decide_seat
from ..entitlements.resolve import read_catalog
from ..entitlements.services import fresh_entitlements
from ..errors import Conflict, NotFound, TiergateError, ValidationError
from ..signals import invitation_sent
from . import users
from .models import Account, Invitation, Membership
from .services import normalise_email, record_membership_event, validate_role

INVITATION_TTL = timedelta(days=7)
INVITATION_FIELDS = ("account_id", "email", "role", "expires_at", "accepted_at", "revoked_at")


class SeatLimitReached(TiergateError):
    """The account's tier has no free seat."""

    code = SEAT_LIMIT_REACHED
    status = 409


class AlreadyMember(Conflict):
    """The invited user is already a member of the account."""

    code = "already_member"


def lock_account_for_seats(account_id: int) -> None:
    """Hold the account's write lock until the transaction ends; take it before any check."""
    connection = begin_write_transaction()
    if connection.dialect.name == "sqlite":
        return  # BEGIN IMMEDIATE already holds the database's write lock
    locked = db.session.execute(
        sa.select(Account.id).where(Account.id == account_id).with_for_update()
    ).scalar_one_or_none()
    if locked is None:
        raise NotFound(f"no account {account_id}", account=account_id)


def reserve_seat(account: Account, now: datetime) -> None:
    """Lock the account and make sure one more seat fits its tier, or raise SeatLimitReached."""
    lock_account_for_seats(account.id)
    entitlements = fresh_entitlements(account.id, now, locking=True)
    decision = decide_seat(entitlements, read_catalog())
    if not decision.allowed:
        raise SeatLimitReached(
            f"{account.name} uses {entitlements.seats_used} of its "
            f"{entitlements.seat_limit} seats: every seat is taken",
            used=entitlements.seats_used,
            limit=entitlements.seat_limit,
            tier=entitlements.tier_key,
            upgrade_to=list(decision.upgrade_to),
        )


def hash_token(token: str) -> str:
    """Return the stored form of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def lock_membership(membership: Membership) -> Membership:
    """Lock the membership's account, then re-read the membership; NotFound when it is gone."""
    begin_write_transaction()
    identity = sa.inspect(membership).identity  # kept even when the row is expired or gone
    if identity is None:
        raise NotFound("this member was never added")
    membership_id = identity[0]
    account_id = db.session.scalar(
        sa.select(Membership.account_id).where(Membership.id == membership_id)
    )
    if account_id is not None:
        lock_account_for_seats(account_id)
    current = db.session.scalar(
        sa.select(Membership)
        .where(Membership.id == membership_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if current is None:
        raise NotFound("this member was already removed", membership=membership_id)
    return current


def ensure_another_owner(membership: Membership, message: str, **details: Any) -> None:
    """Raise ValidationError(``message``) when ``membership`` is its account's last owner."""
    if membership.role != "owner":
        return
    owners = db.session.scalars(
        sa.select(Membership.id)
        .where(Membership.account_id == membership.account_id, Membership.role == "owner")
        .with_for_update(read=True)  # PostgreSQL refuses FOR SHARE with count(): count here
    ).all()
    if len(owners) <= 1:
        raise ValidationError(message, **details)


def member_with_email(account_id: int, email: str) -> int | None:
    """Return the id of the account's membership of a user with ``email``, if any (locking)."""
    return db.session.scalar(
        sa.select(Membership.id)
        .where(Membership.account_id == account_id)
        .where(Membership.user_id.in_(users.ids_with_email(email)))
        .with_for_update(read=True, of=Membership)
    )


def pending_invitations_for(account_id: int, email: str, now: datetime) -> list[Invitation]:
    """Return the account's pending invitations of ``email`` (locking; call under the lock)."""
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.account_id == account_id, Invitation.email == email)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    return [invitation for invitation in invitations if invitation.is_pending(now)]


def refuse_member_or_invited(
    account: Account, email: str, now: datetime, *, other_than: int | None = None
) -> None:
    """Refuse ``email`` when it is a member or has a pending invitation (but ``other_than``)."""
    if member_with_email(account.id, email) is not None:
        raise Conflict(f"{email} is already a member of {account.name}", field="email")
    pending = pending_invitations_for(account.id, email, now)
    if any(invitation.id != other_than for invitation in pending):
        raise Conflict(f"{email} already has a pending invitation to {account.name}", field="email")


def invite_member(
    account: Account,
    email: str,
    *,
    role: str = "member",
    actor: Actor,
    invited_by: Any | None = None,
    now: datetime | None = None,
    ttl: timedelta = INVITATION_TTL,
) -> tuple[Invitation, str]:
    """Invite ``email`` to the account; return the invitation and its one-time token."""
    now = now or utcnow()
    email = normalise_email(email)
    validate_role(role)
    reserve_seat(account, now)
    refuse_member_or_invited(account, email, now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        account_id=account.id,
        email=email,
        role=role,
        token_hash=hash_token(token),
        expires_at=now + ttl,
        invited_by_id=invited_by.id if invited_by else actor.user_id,
    )
    db.session.add(invitation)
    db.session.flush()
    _audit_invitation("invitation.created", invitation, None, actor)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    invitation_sent.send(app, invitation=invitation, token=token)
    return invitation, token


def add_member(
    account: Account, user: Any, *, role: str = "member", actor: Actor, now: datetime | None = None
) -> Membership:
    """Give ``user`` a seat in the account."""
    validate_role(role)
    reserve_seat(account, now or utcnow())
    existing = db.session.scalar(
        sa.select(Membership.id)
        .where(Membership.account_id == account.id, Membership.user_id == users.user_id(user))
        .with_for_update(read=True)
    )
    if existing is not None:
        raise Conflict(f"{users.email_of(user)} is already a member of {account.name}")
    membership = Membership(account_id=account.id, user_id=users.user_id(user), role=role)
    db.session.add(membership)
    db.session.flush()
    record_membership_event("membership.created", membership, actor=actor)
    return membership


def find_invitation(token: str) -> Invitation:
    """Return the invitation for ``token``, or raise NotFound."""
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == hash_token(token or ""))
    )
    if invitation is None:
        raise NotFound("this invitation does not exist")
    return invitation


def _locked_invitation(token: str) -> tuple[Invitation, Account]:
    """Find the invitation, lock its account, and re-read the invitation under the lock."""
    begin_write_transaction()
    invitation = find_invitation(token)
    account = db.session.get_one(Account, invitation.account_id)
    lock_account_for_seats(account.id)
    # Re-read under the lock (a locking read, for MariaDB): it may just have been accepted.
    db.session.refresh(invitation, with_for_update={"read": True})
    return invitation, account


def _refuse_over_limit(account: Account, now: datetime) -> None:
    entitlements = fresh_entitlements(account.id, now, locking=True)
    # The invitation already counts as a seat; accepting converts it, unless a downgrade
    # since then left the account over its limit.
    if entitlements.seats_used > entitlements.seat_limit:
        decision = decide_seat(entitlements, read_catalog(), seats=0)
        raise SeatLimitReached(
            f"{account.name} uses {entitlements.seats_used} seats but its plan allows "
            f"{entitlements.seat_limit}: ask an owner to free a seat or upgrade",
            used=entitlements.seats_used,
            limit=entitlements.seat_limit,
            tier=entitlements.tier_key,
            upgrade_to=list(decision.upgrade_to),
        )


def _invitee_checked(invitation: Invitation, account: Account, user: Any, now: datetime) -> None:
    if not invitation.is_pending(now):
        raise ValidationError("this invitation has expired, was revoked or was already used")
    email = users.email_of(user).strip().lower()
    if invitation.email != email:
        raise ValidationError(f"this invitation is for {invitation.email}, not {email}")
    if member_with_email(account.id, email) is not None:
        raise AlreadyMember(f"{email} is already a member of {account.name}")


def accept_invitation(
    token: str, user: Any, *, actor: Actor, now: datetime | None = None
) -> Membership:
    """Turn a pending invitation into the user's membership; the seat it held carries over."""
    now = now or utcnow()
    invitation, account = _locked_invitation(token)
    _invitee_checked(invitation, account, user, now)
    # Invitations of the same e-mail from before one-per-e-mail was enforced would keep
    # holding seats that nobody can take any more.
    for stale in pending_invitations_for(account.id, invitation.email, now):
        if stale.id != invitation.id:
            _revoke(stale, actor, now)
    _refuse_over_limit(account, now)
    before = snapshot(invitation, INVITATION_FIELDS)
    invitation.accepted_at = now
    membership = Membership(
        account_id=account.id, user_id=users.user_id(user), role=invitation.role
    )
    db.session.add(membership)
    db.session.flush()
    _audit_invitation("invitation.accepted", invitation, before, actor)
    record_membership_event("membership.created", membership, actor=actor)
    return membership


def settle_invitation_of_member(
    token: str, user: Any, *, actor: Actor, now: datetime | None = None
) -> None:
    """Revoke a pending invitation of ``user`` that they cannot accept: they are a member."""
    now = now or utcnow()
    invitation, account = _locked_invitation(token)
    email = users.email_of(user).strip().lower()
    if invitation.email != email or not invitation.is_pending(now):
        return
    if member_with_email(account.id, email) is not None:
        _revoke(invitation, actor, now)


def lock_invitation(invitation: Invitation) -> Invitation:
    """Lock the invitation's account, then re-read the invitation under the lock."""
    lock_account_for_seats(invitation.account_id)
    db.session.refresh(invitation, with_for_update={"read": True})
    return invitation


def revoke_invitation(invitation: Invitation, *, actor: Actor, now: datetime | None = None) -> None:
    """Revoke a pending invitation, freeing its seat."""
    now = now or utcnow()
    lock_invitation(invitation)
    if not invitation.is_pending(now):
        raise ValidationError("only a pending invitation can be revoked")
    _revoke(invitation, actor, now)


def _revoke(invitation: Invitation, actor: Actor, now: datetime) -> None:
    before = snapshot(invitation, INVITATION_FIELDS)
    invitation.revoked_at = now
    db.session.flush()
    _audit_invitation("invitation.revoked", invitation, before, actor)


def remove_member(
    membership: Membership,
    *,
    actor: Actor,
    last_owner: str = "the last owner of an account cannot be removed",
) -> None:
    """Remove a member (or let one leave), freeing the seat; the last owner stays."""
    membership = lock_membership(membership)
    ensure_another_owner(membership, last_owner)
    before = snapshot(membership, ("account_id", "user_id", "role"))
    db.session.delete(membership)
    db.session.flush()
    record_membership_event("membership.deleted", membership, actor=actor, before=before)


def _audit_invitation(
    action: str, invitation: Invitation, before: dict | None, actor: Actor
) -> None:
    record_audit_event(
        action,
        actor=actor,
        target_type="invitation",
        target_id=invitation.id,
        before=before,
        after=snapshot(invitation, INVITATION_FIELDS),
    )

"""Seats: members and pending invitations, capped by the effective tier's user limit.

Checking the limit and taking the seat happen in one transaction that holds the account's
write lock: ``SELECT ... FOR UPDATE`` on the account row on PostgreSQL and MariaDB; on SQLite
the whole transaction starts with ``BEGIN IMMEDIATE`` (``begin_write_transaction``), because a
deferred transaction that has read cannot reliably upgrade to a writer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..audit.services import Actor, record_audit_event, snapshot
from ..db import begin_write_transaction, db, utcnow
from ..entitlements.check import SEAT_LIMIT_REACHED, decide_seat
from ..entitlements.resolve import read_catalog
from ..entitlements.services import fresh_entitlements
from ..errors import Conflict, NotFound, TiergateError, ValidationError
from . import users
from .models import Account, Invitation, Membership
from .services import normalise_email, record_membership_event, validate_role

INVITATION_TTL = timedelta(days=7)
INVITATION_FIELDS = ("account_id", "email", "role", "expires_at", "accepted_at", "revoked_at")


class SeatLimitReached(TiergateError):
    """The account's tier has no free seat."""

    code = SEAT_LIMIT_REACHED
    status = 409


def lock_account_for_seats(account_id: int) -> None:
    """Hold the account's write lock until the transaction ends."""
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
            f"account {account.slug!r} uses {entitlements.seats_used} of "
            f"{entitlements.seat_limit} seats on tier {entitlements.tier_key!r}",
            used=entitlements.seats_used,
            limit=entitlements.seat_limit,
            tier=entitlements.tier_key,
            upgrade_to=list(decision.upgrade_to),
        )


def hash_token(token: str) -> str:
    """Return the stored form of an invitation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _refuse_existing(account: Account, email: str, now: datetime) -> None:
    member = db.session.scalar(
        sa.select(Membership.id)
        .where(Membership.account_id == account.id)
        .where(Membership.user_id.in_(users.ids_with_email(email)))
    )
    if member is not None:
        raise Conflict(f"{email} is already a member of {account.slug!r}", field="email")
    pending = db.session.scalars(
        sa.select(Invitation).where(Invitation.account_id == account.id, Invitation.email == email)
    )
    if any(invitation.is_pending(now) for invitation in pending):
        raise Conflict(f"{email} already has a pending invitation to {account.slug!r}")


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
    _refuse_existing(account, email, now)
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
    return invitation, token


def add_member(
    account: Account, user: Any, *, role: str = "member", actor: Actor, now: datetime | None = None
) -> Membership:
    """Give ``user`` a seat in the account."""
    validate_role(role)
    reserve_seat(account, now or utcnow())
    existing = db.session.scalar(
        sa.select(Membership.id).where(
            Membership.account_id == account.id, Membership.user_id == users.user_id(user)
        )
    )
    if existing is not None:
        raise Conflict(f"{users.email_of(user)} is already a member of {account.slug!r}")
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


def accept_invitation(
    token: str, user: Any, *, actor: Actor, now: datetime | None = None
) -> Membership:
    """Turn a pending invitation into the user's membership; the seat it held carries over."""
    now = now or utcnow()
    begin_write_transaction()
    invitation = find_invitation(token)
    account = db.session.get_one(Account, invitation.account_id)
    lock_account_for_seats(account.id)
    db.session.refresh(invitation)  # re-read under the lock: it may just have been accepted
    if not invitation.is_pending(now):
        raise ValidationError("this invitation has expired, was revoked or was already used")
    email = users.email_of(user).strip().lower()
    if invitation.email != email:
        raise ValidationError(f"this invitation is for {invitation.email}, not {email}")
    entitlements = fresh_entitlements(account.id, now, locking=True)
    # The invitation already counts as a seat; accepting converts it, unless a downgrade
    # since then left the account over its limit.
    if entitlements.seats_used > entitlements.seat_limit:
        decision = decide_seat(entitlements, read_catalog(), seats=0)
        raise SeatLimitReached(
            f"account {account.slug!r} uses {entitlements.seats_used} of "
            f"{entitlements.seat_limit} seats",
            used=entitlements.seats_used,
            limit=entitlements.seat_limit,
            tier=entitlements.tier_key,
            upgrade_to=list(decision.upgrade_to),
        )
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


def revoke_invitation(invitation: Invitation, *, actor: Actor, now: datetime | None = None) -> None:
    """Revoke a pending invitation, freeing its seat."""
    now = now or utcnow()
    if not invitation.is_pending(now):
        raise ValidationError("only a pending invitation can be revoked")
    before = snapshot(invitation, INVITATION_FIELDS)
    invitation.revoked_at = now
    db.session.flush()
    _audit_invitation("invitation.revoked", invitation, before, actor)


def remove_member(membership: Membership, *, actor: Actor) -> None:
    """Remove a member from the account, freeing the seat; the last owner stays."""
    if membership.role == "owner":
        owners = db.session.scalar(
            sa.select(sa.func.count(Membership.id)).where(
                Membership.account_id == membership.account_id, Membership.role == "owner"
            )
        )
        if owners == 1:
            raise ValidationError("the last owner of an account cannot be removed")
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

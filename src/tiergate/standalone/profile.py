"""The standalone user's own changes: name, password, e-mail address, sessions, deletion.

Every change is audited; they flush and never commit. Passwords are hashed and checked by the
caller before the write transaction (argon2 is slow on purpose).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import Account, Membership
from ..accounts.seats import ensure_another_owner, remove_member
from ..accounts.services import normalise_email
from ..audit.services import Actor, record_audit_event, snapshot
from ..billing.lifecycle.live import live_paid_subscriptions
from ..db import db, utcnow
from ..errors import ValidationError
from .emails import queue_already_registered, queue_email_change, queue_email_changed
from .sessions import end_sessions
from .tokens import CHANGE_EMAIL, RESET, VERIFY, InvalidLink, password_fingerprint, read_token
from .users import User, find_user

_FIELDS = ("email", "display_name", "is_active")


def _audit(action: str, user: User, actor: Actor, before: dict | None = None) -> None:
    record_audit_event(
        action,
        actor=actor,
        target_type="user",
        target_id=user.id,
        before=before,
        after=snapshot(user, _FIELDS),
    )


def change_display_name(user: User, name: str, *, actor: Actor) -> None:
    """Give the user another display name."""
    name = (name or "").strip()
    if len(name) > 128:
        raise ValidationError("a name has at most 128 characters", field="display_name")
    before = snapshot(user, _FIELDS)
    user.display_name = name
    db.session.flush()
    _audit("user.updated", user, actor, before)


def set_password(user: User, password_hash: str, *, actor: Actor, action: str) -> None:
    """Store a new password hash and end every session of the user."""
    user.password_hash = password_hash
    end_sessions(user)
    record_audit_event(
        action, actor=actor, target_type="user", target_id=user.id, after={"password": "changed"}
    )


def log_out_everywhere(user: User, *, actor: Actor) -> None:
    """End every session and remember cookie of the user."""
    end_sessions(user)
    record_audit_event("user.sessions_ended", actor=actor, target_type="user", target_id=user.id)


def request_email_change(user: User, new_email: str, *, actor: Actor) -> None:
    """Ask ``new_email`` to confirm before it replaces the user's address (nothing changes yet).

    An address another user has gets the "you already have an account" message instead: the
    page says the same either way.
    """
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise ValidationError("this is your address already", field="email")
    other = find_user(new_email)
    if other is not None:
        queue_already_registered(other)
    else:
        queue_email_change(user, new_email)
    record_audit_event(
        "user.email_change_requested",
        actor=actor,
        target_type="user",
        target_id=user.id,
        after={"new_email": new_email},
    )


def _user_of(claims_user_id: int) -> User:
    user = db.session.get(User, claims_user_id)
    if user is None or not user.is_active:
        raise InvalidLink("This link is not valid: ask for a new one.")
    return user


def confirm_email_change(token: str) -> User:
    """Change the address named by a confirmed link; tell the old address."""
    claims = read_token(CHANGE_EMAIL, token)
    user = _user_of(claims.user_id)
    old, new = claims.values.get("old"), str(claims.values.get("new"))
    if user.email != old:
        raise InvalidLink("This link was already used, or your address changed since.")
    if find_user(new) is not None:
        raise InvalidLink("This address has a user of its own now: it cannot be yours.")
    before = snapshot(user, _FIELDS)
    user.email = new
    user.email_verified_at = utcnow()
    db.session.flush()
    _audit("user.email_changed", user, Actor.user(user), before)
    queue_email_changed(str(old), user)
    return user


def verify_email(token: str) -> User:
    """Mark the address named by a verification link as the user's (again: no harm)."""
    claims = read_token(VERIFY, token)
    user = _user_of(claims.user_id)
    if claims.values.get("e") != user.email:
        raise InvalidLink("This link is for an address you no longer use.")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.flush()
        record_audit_event(
            "user.email_verified", actor=Actor.user(user), target_type="user", target_id=user.id
        )
    return user


def user_for_reset(token: str) -> User:
    """Return the user a password reset link is for, or raise InvalidLink (used, expired)."""
    claims = read_token(RESET, token)
    user = _user_of(claims.user_id)
    if claims.values.get("p") != password_fingerprint(user):
        raise InvalidLink("This link was already used: ask for a new one.")
    return user


def reset_password(token: str, password_hash: str) -> User:
    """Set the password chosen through a reset link; the link then stops working."""
    user = user_for_reset(token)
    set_password(user, password_hash, actor=Actor.user(user), action="user.password_reset")
    # Opening the link proved the inbox is theirs.
    user.email_verified_at = user.email_verified_at or utcnow()
    db.session.flush()
    return user


def _memberships(user: User) -> list[Membership]:
    query = sa.select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    return list(db.session.scalars(query))


def _other_members(membership: Membership) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .where(Membership.account_id == membership.account_id, Membership.id != membership.id)
        )
        or 0
    )


def _close_account(account: Account, actor: Actor) -> None:
    """Delete an account its last member leaves; refuse while a paid subscription runs."""
    if live_paid_subscriptions(account.id):
        raise ValidationError(
            f"{account.name} still has a paid subscription: cancel it on its billing page "
            "first, then delete your user"
        )
    before = snapshot(account, ("name", "slug"))
    db.session.delete(account)
    db.session.flush()
    record_audit_event(
        "account.deleted", actor=actor, target_type="account", target_id=account.id, before=before
    )


def delete_user(user: User, *, actor: Actor) -> None:
    """Delete the user: leave each account, closing those with no other member.

    Refused while the user is the last owner of an account that has other members.
    """
    for membership in _memberships(user):
        account = db.session.get_one(Account, membership.account_id)
        if _other_members(membership) == 0:
            _close_account(account, actor)
            continue
        ensure_another_owner(
            membership,
            f"you are the last owner of {account.name}, which has other members: make one of "
            "them an owner on its members page (or remove them), then delete your user",
        )
        remove_member(membership, actor=actor)
    user_id, before = user.id, snapshot(user, _FIELDS)
    db.session.delete(user)
    db.session.flush()
    record_audit_event(
        "user.deleted", actor=actor, target_type="user", target_id=user_id, before=before
    )

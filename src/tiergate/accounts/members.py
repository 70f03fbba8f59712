"""Managing an account's team: who may change what, role changes, resending invitations.

Seats themselves (inviting, adding, accepting, revoking, removing) live in ``seats.py``;
this module adds the rules a manager (owner or admin) works under and the two use cases
seats.py does not have.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..audit.services import Actor, record_audit_event, snapshot
from ..db import db, utcnow
from ..errors import NotFound, TiergateError, ValidationError
from ..signals import invitation_sent
from . import users
from .models import ROLES, Account, Invitation, Membership
from .seats import (
    INVITATION_FIELDS,
    INVITATION_TTL,
    ensure_another_owner,
    hash_token,
    lock_invitation,
    lock_membership,
    refuse_member_or_invited,
    remove_member,
    reserve_seat,
    revoke_invitation,
)
from .services import MEMBERSHIP_FIELDS, record_membership_event, validate_role

MANAGER_ROLES = ("owner", "admin")


class MemberActionForbidden(TiergateError):
    """The acting member's role does not allow this change."""

    code = "member_action_forbidden"
    status = 403


def assignable_roles(manager_role: str | None) -> tuple[str, ...]:
    """Return the roles a member with ``manager_role`` may give (owners: all; admins: not owner)."""
    if manager_role == "owner":
        return ROLES
    if manager_role == "admin":
        return tuple(role for role in ROLES if role != "owner")
    return ()


def ensure_may_manage(
    manager_role: str | None, *, target_role: str | None = None, new_role: str | None = None
) -> None:
    """Refuse unless ``manager_role`` may change a member of ``target_role`` to ``new_role``."""
    if manager_role not in MANAGER_ROLES:
        raise MemberActionForbidden("only an owner or an admin can change the team")
    if target_role == "owner" and manager_role != "owner":
        raise MemberActionForbidden("only an owner can change or remove another owner")
    if new_role is not None and new_role not in assignable_roles(manager_role):
        raise MemberActionForbidden(
            f"an {manager_role} cannot make someone {new_role}", field="role"
        )


def ensure_may_manage_invitation(manager_role: str | None, invitation: Invitation) -> None:
    """Refuse unless ``manager_role`` may resend or revoke ``invitation`` (an owner's: owners)."""
    ensure_may_manage(manager_role)
    if invitation.role not in assignable_roles(manager_role):
        raise MemberActionForbidden(
            f"only an owner can resend or revoke an invitation to become {invitation.role}"
        )


#: The order members are listed in: owners, admins, then members, each as they joined.
ROLE_RANK = sa.case({role: rank for rank, role in enumerate(ROLES)}, value=Membership.role)


def role_rank(membership: Membership) -> tuple[int, int]:
    """The membership's place in the ``ROLE_RANK, Membership.id`` order."""
    return ROLES.index(membership.role), membership.id


def members_query(account: Account) -> sa.Select[Any]:
    """Return a query of the account's memberships, unordered (see ``ROLE_RANK``)."""
    return sa.select(Membership).where(Membership.account_id == account.id)


def pending_invitations(account: Account, now: datetime | None = None) -> list[Invitation]:
    """Return the account's invitations that still hold a seat, oldest first."""
    now = now or utcnow()
    query = (
        sa.select(Invitation)
        .where(
            Invitation.account_id == account.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.id)
    )
    return list(db.session.scalars(query))


def change_role(
    membership: Membership, role: str, *, manager_role: str | None, actor: Actor
) -> Membership:
    """Give a member another role; the account keeps at least one owner."""
    validate_role(role)
    membership = lock_membership(membership)
    ensure_may_manage(manager_role, target_role=membership.role, new_role=role)
    if membership.role == role:
        return membership
    ensure_another_owner(
        membership,
        "the last owner cannot become admin or member: make someone else owner first",
        field="role",
    )
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    membership.role = role
    db.session.flush()
    record_membership_event("membership.updated", membership, actor=actor, before=before)
    return membership


def resend_invitation(
    invitation: Invitation,
    *,
    manager_role: str | None,
    actor: Actor,
    now: datetime | None = None,
    ttl: timedelta = INVITATION_TTL,
) -> tuple[Invitation, str]:
    """Give an open invitation a new one-time token and a new expiry; return both.

    The old link stops working. An expired invitation takes a seat again, so it needs one;
    and it is refused once its e-mail is a member or has a newer pending invitation.
    """
    now = now or utcnow()
    ensure_may_manage_invitation(manager_role, lock_invitation(invitation))
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError("this invitation was already used or revoked: invite again")
    account = db.session.get_one(Account, invitation.account_id)
    if not invitation.is_pending(now):
        reserve_seat(account, now)
    refuse_member_or_invited(account, invitation.email, now, other_than=invitation.id)
    before = snapshot(invitation, INVITATION_FIELDS)
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = now + ttl
    db.session.flush()
    record_audit_event(
        "invitation.resent",
        actor=actor,
        target_type="invitation",
        target_id=invitation.id,
        before=before,
        after=snapshot(invitation, INVITATION_FIELDS),
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    invitation_sent.send(app, invitation=invitation, token=token)
    return invitation, token


def revoke_pending_invitation(
    invitation: Invitation, *, manager_role: str | None, actor: Actor, now: datetime | None = None
) -> None:
    """Revoke a pending invitation as a manager: an owner's invitation only by an owner."""
    ensure_may_manage_invitation(manager_role, lock_invitation(invitation))
    revoke_invitation(invitation, actor=actor, now=now)


#: Why the last owner cannot leave, in the words of the one leaving.
LAST_OWNER_LEAVING = (
    "you are the last owner of {name}: make another member owner before you leave, "
    "or remove the other members first"
)


def leave_account(account: Account, user: Any, *, actor: Actor) -> None:
    """Let ``user`` leave ``account`` (not as its last owner); NotFound when not a member."""
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.account_id == account.id, Membership.user_id == users.user_id(user)
        )
    )
    if membership is None:
        raise NotFound(f"you are not a member of {account.name}")
    remove_member(membership, actor=actor, last_owner=LAST_OWNER_LEAVING.format(name=account.name))

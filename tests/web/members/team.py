"""Helpers of the members page tests: the page, posting to it, what the team looks like."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import invite_member
from tiergate.db import db, utcnow
from tiergate.standalone.users import find_user

from ...accounts.factories import SYSTEM, subscribe
from ...browsing import csrf_token
from ..support import post_form, text

PAGE = "/account/members?account=acme"


def membership_of(email: str) -> Membership:
    db.session.rollback()  # see what the requests committed
    user = find_user(email)
    return db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).one()


def team_state() -> list[tuple]:
    """Every membership and invitation, to show that a refused request changed nothing."""
    db.session.rollback()
    members = db.session.execute(
        sa.select(Membership.id, Membership.user_id, Membership.role).order_by(Membership.id)
    ).all()
    invitations = db.session.execute(
        sa.select(
            Invitation.id, Invitation.token_hash, Invitation.expires_at, Invitation.revoked_at
        ).order_by(Invitation.id)
    ).all()
    return [*members, *invitations]


def invite(client, email: str, role: str = "member"):
    return post_form(client, PAGE, PAGE, {"email": email, "role": role})


def change_role(client, membership_id: int, role: str):
    token = csrf_token(client.get(PAGE).get_data(as_text=True))
    prefix = f"member-{membership_id}-"
    data = {prefix + "csrf_token": token, prefix + "role": role}
    return client.post(f"/account/members/{membership_id}/role", data=data)


def field_errors(response, field_id: str) -> list[str]:
    """Return the messages shown next to the field ``field_id``."""
    body = text(response)
    found = re.search(rf'<ul class="field-errors" id="{field_id}-errors">(.*?)</ul>', body)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def downgrade_to_pro(account) -> None:
    """End Acme's Team subscription and subscribe it to Pro (3 seats)."""
    later = utcnow() + timedelta(days=30)
    subscribe(account, "team", status="canceled", updated_at=utcnow(), period_end=later)
    subscribe(account, "pro", updated_at=utcnow(), period_end=later)


def pending_invitation(account) -> Invitation:
    invitation, _ = invite_member(account, "pending@acme.test", actor=SYSTEM)
    db.session.commit()
    return invitation

"""Accounts and memberships: one function per use case; they flush and never commit."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from ..audit.services import Actor, record_audit_event, snapshot
from ..db import db
from ..errors import Conflict, NotFound, ValidationError
from . import users
from .models import ROLES, Account, Membership

# The one e-mail rule of the product (sign-up, invitations, the CLI): RFC 5322's dot-atom
# local part and a dotted DNS name. Anything else (spaces, quotes, "<", ">") is refused rather
# than stored: an address is shown on pages and used to match people to invitations.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MEMBERSHIP_FIELDS = ("account_id", "user_id", "role")


def normalise_email(email: str) -> str:
    """Return ``email`` stripped and lower-cased, or raise when it is not an e-mail address."""
    normalised = (email or "").strip().lower()
    if len(normalised) > 254 or not _EMAIL.match(normalised):
        raise ValidationError(f"“{email}” is not a valid e-mail address", field="email")
    return normalised


def find_user(email: str) -> Any | None:
    """Return the application's user with this e-mail address (any case, any spaces)."""
    return users.find_by_email(email)


def get_account(reference: int | str) -> Account:
    """Return the account with this id or slug, or raise NotFound."""
    account = None
    if isinstance(reference, int) or str(reference).isdigit():
        account = db.session.get(Account, int(reference))
    if account is None:
        account = db.session.scalar(sa.select(Account).where(Account.slug == str(reference)))
    if account is None:
        raise NotFound(f"no account {reference!r}", account=str(reference))
    return account


def slugify(name: str) -> str:
    """Return a URL-safe slug made from ``name``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug[:64].strip("-") or "account"


#: The longest organisation name (the forms check the same number before the service).
ACCOUNT_NAME_MAX = 128


def checked_name(name: str) -> str:
    """Return an account name stripped, or raise when it is empty or too long."""
    name = (name or "").strip()
    if not name or len(name) > ACCOUNT_NAME_MAX:
        raise ValidationError(
            f"an account needs a name of 1 to {ACCOUNT_NAME_MAX} characters", field="name"
        )
    return name


def free_slug(name: str) -> str:
    """Return a slug made from ``name`` that no account has yet ("acme", "acme-2", …)."""
    base = slugify(name)[:58].strip("-") or "account"
    taken = set(
        db.session.scalars(
            sa.select(Account.slug).where(
                sa.or_(Account.slug == base, Account.slug.like(f"{base}-%"))
            )
        )
    )
    number = 1
    slug = base
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def create_account(
    name: str, *, owner: Any | None, actor: Actor, slug: str | None = None
) -> Account:
    """Create an account, owned by ``owner`` when given; refuse a slug that is taken."""
    name = checked_name(name)
    slug = slug.strip().lower() if slug else slugify(name)
    if not _SLUG.match(slug):
        raise ValidationError(
            f"{slug!r} is not a valid slug (lower-case letters, digits and dashes)", field="slug"
        )
    if db.session.scalar(sa.select(Account.id).where(Account.slug == slug)) is not None:
        raise Conflict(f"an account with slug {slug!r} already exists", field="slug")
    account = Account(name=name, slug=slug)
    db.session.add(account)
    db.session.flush()
    record_audit_event(
        "account.created",
        actor=actor,
        target_type="account",
        target_id=account.id,
        after=snapshot(account, ("name", "slug")),
    )
    if owner is not None:
        # The first seat is always allowed: every tier has a user_limit of at least 1.
        membership = Membership(account=account, user_id=users.user_id(owner), role="owner")
        db.session.add(membership)
        db.session.flush()
        record_membership_event("membership.created", membership, actor=actor)
    return account


def rename_account(account: Account, name: str, *, actor: Actor) -> Account:
    """Give the account another name (its slug, used in links, stays)."""
    name = checked_name(name)
    if name == account.name:
        return account
    before = snapshot(account, ("name", "slug"))
    account.name = name
    db.session.flush()
    record_audit_event(
        "account.updated",
        actor=actor,
        target_type="account",
        target_id=account.id,
        before=before,
        after=snapshot(account, ("name", "slug")),
    )
    return account


def record_membership_event(
    action: str, membership: Membership, *, actor: Actor, before: dict | None = None
) -> None:
    """Record a membership change in the audit log."""
    after = None if action.endswith("deleted") else snapshot(membership, MEMBERSHIP_FIELDS)
    record_audit_event(
        action,
        actor=actor,
        target_type="membership",
        target_id=membership.id,
        before=before,
        after=after,
    )


def validate_role(role: str) -> str:
    """Return ``role`` when it is one of the membership roles, else raise."""
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}: use one of {', '.join(ROLES)}", field="role")
    return role


def accounts_of(user: Any) -> list[Account]:
    """Return the accounts ``user`` is a member of, by name."""
    query = (
        sa.select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user.id)
        .order_by(Account.name)
    )
    return list(db.session.scalars(query))


def list_accounts() -> list[Account]:
    """Return every account, by slug."""
    return list(db.session.scalars(sa.select(Account).order_by(Account.slug)))

"""API keys: bearer tokens for the JSON API, shown once and stored as a sha256 hash.

A key carries 256 random bits, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..audit.services import Actor, record_audit_event, snapshot
from ..db import db, utcnow
from ..entitlements.services import check, get_cache
from ..errors import NotFound, TiergateError, ValidationError
from . import users
from .models import Account, ApiKey

KEY_PREFIX = "tg_"
#: Characters of the key kept in clear to tell keys apart in listings ("tg_" + 8).
SHOWN_PREFIX_LENGTH = 11
#: ``last_used_at`` is written at most this often per key, so a busy key costs no writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: The longest key name (the keys page's form checks the same number before the service).
API_KEY_NAME_MAX = 64
API_KEY_FIELDS = ("account_id", "name", "prefix", "created_by_id", "revoked_at")


def hash_api_key(token: str) -> str:
    """Return the stored form of an API key."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_key(
    name: str,
    *,
    account: Account | None,
    actor: Actor,
    created_by: Any | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for ``account`` (None: a staff key); return it and its one-time secret."""
    name = (name if isinstance(name, str) else "").strip()  # a JSON form may send anything
    if not name or len(name) > API_KEY_NAME_MAX:
        raise ValidationError(
            f"an API key needs a name of 1 to {API_KEY_NAME_MAX} characters", field="name"
        )
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        account_id=account.id if account is not None else None,
        name=name,
        prefix=token[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_api_key(token),
        created_by_id=created_by.id if created_by is not None else actor.user_id,
    )
    db.session.add(key)
    db.session.flush()
    _audit("api_key.created", key, None, actor)
    return key, token


class ApiNotInPlan(TiergateError):
    """The account's plan does not include the permission that allows API keys."""

    code = "api_not_in_plan"
    status = 403


def ensure_api_in_plan(account: Account, permission: str) -> None:
    """Refuse with ``api_not_in_plan`` unless the account's plan grants ``permission``."""
    result = check(account, permission)
    if result.allowed:
        return
    names = [tier.name for tier in _tiers_by_key(result.upgrade_to)]
    offer = f"; it comes with {', '.join(names)}" if names else ""
    raise ApiNotInPlan(
        f"the plan of {account.name} does not include the API{offer}",
        permission=permission,
        upgrade_to=list(result.upgrade_to),
    )


def _tiers_by_key(keys: Iterable[str]) -> list[Any]:
    tiers = {tier.key: tier for tier in get_cache().catalog().tiers.values()}
    return [tiers[key] for key in keys if key in tiers]


def create_customer_api_key(
    account: Account, name: str, *, permission: str, actor: Actor, created_by: Any
) -> tuple[ApiKey, str]:
    """Create a key for ``account`` if its plan grants ``permission``; return it and its secret."""
    ensure_api_in_plan(account, permission)
    return create_api_key(name, account=account, actor=actor, created_by=created_by)


def get_api_key(reference: int | str) -> ApiKey:
    """Return the key with this id or shown prefix, or raise NotFound."""
    key = None
    if isinstance(reference, int) or str(reference).isdigit():
        key = db.session.get(ApiKey, int(reference))
    if key is None:
        matches = db.session.scalars(sa.select(ApiKey).where(ApiKey.prefix == str(reference)))
        found = list(matches)
        if len(found) > 1:
            raise ValidationError(f"{reference!r} matches several keys: use the key's id")
        key = found[0] if found else None
    if key is None:
        raise NotFound(f"no API key {reference!r}", key=str(reference))
    return key


def list_api_keys(account: Account | None = None, *, staff_only: bool = False) -> list[ApiKey]:
    """Return the keys of ``account`` (or every key, or only staff keys), oldest first.

    Each key's ``created_by`` is set to the user who created it (None for the CLI's keys).
    """
    query = sa.select(ApiKey).order_by(ApiKey.id)
    if account is not None:
        query = query.where(ApiKey.account_id == account.id)
    elif staff_only:
        query = query.where(ApiKey.account_id.is_(None))
    return users.attach(list(db.session.scalars(query)), "created_by_id", "created_by")


def revoke_api_key(key: ApiKey, *, actor: Actor, now: datetime | None = None) -> None:
    """Revoke a key: it stops authenticating at once."""
    if key.revoked_at is not None:
        raise ValidationError(f"API key {key.prefix!r} is already revoked")
    before = snapshot(key, API_KEY_FIELDS)
    key.revoked_at = now or utcnow()
    db.session.flush()
    _audit("api_key.revoked", key, before, actor)


def authenticate_api_key(token: str) -> ApiKey | None:
    """Return the unrevoked key whose secret is ``token`` (a bearer token), or None."""
    if not token.startswith(KEY_PREFIX) or len(token) > 128:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_api_key(token)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def needs_last_used_update(key: ApiKey, now: datetime) -> bool:
    """Tell whether ``last_used_at`` is older than its resolution (and should be written)."""
    return key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION


def mark_api_key_used(key: ApiKey, now: datetime | None = None) -> bool:
    """Set ``last_used_at`` when it is older than its resolution; return whether it was set."""
    now = now or utcnow()
    if not needs_last_used_update(key, now):
        return False
    key.last_used_at = now
    db.session.flush()
    return True


def _audit(action: str, key: ApiKey, before: dict | None, actor: Actor) -> None:
    record_audit_event(
        action,
        actor=actor,
        target_type="api_key",
        target_id=key.id,
        before=before,
        after=snapshot(key, API_KEY_FIELDS),
    )

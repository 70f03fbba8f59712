"""Limits on the tier-permission link: read and set them (flush, never commit).

A tier that grants an allocation or metered permission may put a number on it
(``usage_limit``); NULL is unlimited. ``user_limit`` stays the tier's seats limit.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from ..db import db, utcnow
from ..errors import NotFound, ValidationError
from .models import Permission, SubscriptionTier, subscription_tier_permission
from .schemas import limit_problem

LINK = subscription_tier_permission


def tier_limits(tier_id: int | None) -> dict[str, int | None]:
    """Return the tier's limit per limited permission it grants (None: unlimited)."""
    if tier_id is None:
        return {}
    rows = db.session.execute(
        sa.select(Permission.key, LINK.c.usage_limit)
        .join(LINK, LINK.c.permission_id == Permission.id)
        .where(LINK.c.tier_id == tier_id, Permission.kind != "feature")
    )
    return {key: limit for key, limit in rows}


def all_limits() -> dict[int, dict[str, int | None]]:
    """Return every tier's limits: tier id -> permission key -> limit (None: unlimited)."""
    rows = db.session.execute(
        sa.select(LINK.c.tier_id, Permission.key, LINK.c.usage_limit)
        .join(Permission, LINK.c.permission_id == Permission.id)
        .where(Permission.kind != "feature")
    )
    limits: dict[int, dict[str, int | None]] = {}
    for tier_id, key, limit in rows:
        limits.setdefault(tier_id, {})[key] = limit
    return limits


def apply_limits(tier: SubscriptionTier, wanted: Mapping[str, int | None]) -> bool:
    """Give the tier's links the ``wanted`` limits; tell whether any changed."""
    current = tier_limits(tier.id)
    changed = {key: limit for key, limit in wanted.items() if current.get(key, 0) != limit}
    changed.update({key: None for key in current if key not in wanted and current[key]})
    if not changed:
        return False
    ids = {key: id_ for key, id_ in db.session.execute(sa.select(Permission.key, Permission.id))}
    # A link row is not an ORM object: touching the tier makes the flush bump the catalog's
    # version, so every process's cache sees the new numbers.
    tier.updated_at = utcnow()
    db.session.flush()
    for key, limit in changed.items():
        db.session.execute(
            sa.update(LINK)
            .where(LINK.c.tier_id == tier.id, LINK.c.permission_id == ids[key])
            .values(usage_limit=limit)
        )
    _audit(tier, {key: current.get(key) for key in changed}, changed)
    return True


def _audit(
    tier: SubscriptionTier, before: dict[str, int | None], after: dict[str, int | None]
) -> None:
    """Record the change in the audit log, by the actor the entry point named (else system)."""
    from ..audit.listeners import ACTOR_KEY
    from ..audit.services import Actor, record_audit_event

    record_audit_event(
        "tier.limits_changed",
        actor=db.session.info.get(ACTOR_KEY) or Actor.system(),
        target_type="tier",
        target_id=tier.id,
        before={"key": tier.key, "limits": before},
        after={"key": tier.key, "limits": after},
    )


def set_limit(tier: SubscriptionTier, permission: Permission, limit: int | None) -> bool:
    """Set the tier's limit on a permission it grants (None: unlimited); tell if it changed."""
    problem = limit_problem(permission.key, permission.kind, limit)
    if problem is not None:
        raise ValidationError(problem, field="limit", permission=permission.key)
    if permission.key not in {p.key for p in tier.permissions}:
        raise NotFound(
            f"tier {tier.key!r} does not grant {permission.key!r}; grant it before limiting it",
            tier=tier.key,
            permission=permission.key,
        )
    return apply_limits(tier, {**tier_limits(tier.id), permission.key: limit})


def metered_price_keys(tier: SubscriptionTier) -> list[str]:
    """Return the Stripe metered prices a checkout of ``tier`` adds (its overage), by key."""
    keys = db.session.scalars(
        sa.select(Permission.metered_price_lookup_key)
        .join(LINK, LINK.c.permission_id == Permission.id)
        .where(
            LINK.c.tier_id == tier.id,
            Permission.kind == "metered",
            Permission.metered_price_lookup_key.is_not(None),
        )
        .order_by(Permission.key)
    )
    return [key for key in keys if key]


def checkout_options(tier: SubscriptionTier) -> dict[str, list[str]]:
    """Return the limits' part of a checkout's options: a Stripe tier's metered prices."""
    keys = metered_price_keys(tier) if tier.billing_provider == "stripe" else []
    return {"metered_price_lookup_keys": keys} if keys else {}

"""Catalog use cases: one function each; they flush and never commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, Unpack, cast

import sqlalchemy as sa

from ..db import db
from ..errors import Conflict, NotFound, ValidationError
from .limits import set_limit
from .loader import LoadSummary as LoadSummary
from .loader import Row, assign, field_values
from .loader import export_catalog as export_catalog
from .loader import load_catalog as load_catalog
from .models import Permission, SubscriptionTier
from .schemas import (
    PERMISSION_FIELDS,
    TIER_FIELDS,
    UNIQUE_TIER_FIELDS,
    clash_problems,
    default_tier_problem,
    defaults,
    field_problems,
    permission_problems,
    tier_problems,
)

# load_catalog and export_catalog live in loader.py (to keep modules small); they are
# re-exported above as part of this module's interface.

TierRef = SubscriptionTier | str
PermissionRef = Permission | str


class TierOptions(TypedDict, total=False):
    description: str | None
    rank: int
    user_limit: int
    is_customer_facing: bool
    billing_provider: str
    is_billing_exempt: bool
    stripe_lookup_key: str | None
    whop_product_key: str | None
    fallback_price: str | None
    stripe_yearly_lookup_key: str | None
    whop_yearly_product_key: str | None
    trial_days: int
    per_seat: bool
    is_addon: bool


class TierChanges(TierOptions, total=False):
    key: str
    name: str


class PermissionOptions(TypedDict, total=False):
    kind: str
    enforcement: str
    unit: str | None
    meter_event_name: str | None
    metered_price_lookup_key: str | None


class PermissionChanges(PermissionOptions, total=False):
    key: str
    name: str
    description: str | None


def get_default_tier() -> SubscriptionTier | None:
    """Return the tier of accounts without a granting subscription, if the catalog has one."""
    return db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.is_default))


def list_tiers() -> list[SubscriptionTier]:
    """Return every tier in rank order (then by key)."""
    # Sorted here, not in SQL: collations order keys differently on each backend.
    tiers = db.session.scalars(sa.select(SubscriptionTier)).all()
    return sorted(tiers, key=lambda tier: (tier.rank, tier.key))


def list_permissions() -> list[Permission]:
    """Return every permission ordered by key."""
    return sorted(db.session.scalars(sa.select(Permission)).all(), key=lambda p: p.key)


def get_tier(tier: TierRef) -> SubscriptionTier:
    """Return the tier with this key, or raise NotFound."""
    if isinstance(tier, SubscriptionTier):
        return tier
    found = db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == tier))
    if found is None:
        raise NotFound(f"no tier with key {tier!r}", key=tier)
    return found


def get_permission(permission: PermissionRef) -> Permission:
    """Return the permission with this key, or raise NotFound."""
    if isinstance(permission, Permission):
        return permission
    found = db.session.scalar(sa.select(Permission).where(Permission.key == permission))
    if found is None:
        raise NotFound(f"no permission with key {permission!r}", key=permission)
    return found


def _check(
    kind: type[SubscriptionTier] | type[Permission], values: Mapping[str, Any], row: Any
) -> None:
    """Raise ValidationError for bad values, Conflict when a unique field is taken."""
    label = f"{'tier' if kind is SubscriptionTier else 'permission'} {values.get('key')!r}"
    check = tier_problems if kind is SubscriptionTier else permission_problems
    problems = check(values)
    if problems:
        raise ValidationError(f"{label}: {'; '.join(problems)}", problems=problems)
    others = [
        (f"{label.split()[0]} {other.key!r}", field_values(other))
        for other in cast("list[Row]", db.session.scalars(sa.select(kind)).all())
        if other is not row
    ]
    unique = UNIQUE_TIER_FIELDS if kind is SubscriptionTier else ("key",)
    clashes = [
        problem.message
        for problem in clash_problems([*others, ("<new>", values)], unique)
        if problem.where == "<new>"
    ]
    if clashes:
        raise Conflict(f"{label}: {'; '.join(clashes)}", problems=clashes)


def create_tier(key: str, name: str, **options: Unpack[TierOptions]) -> SubscriptionTier:
    """Create a tier; options left out take their defaults."""
    values = {**defaults(TIER_FIELDS), **options, "key": key, "name": name}
    _check(SubscriptionTier, values, None)
    tier = SubscriptionTier(**values)
    db.session.add(tier)
    db.session.flush()
    return tier


def update_tier(tier: TierRef, **changes: Unpack[TierChanges]) -> SubscriptionTier:
    """Change some of a tier's fields."""
    tier = get_tier(tier)
    unknown = field_problems({name: None for name in changes if name not in TIER_FIELDS}, {})
    if unknown:
        raise ValidationError(f"tier {tier.key!r}: {'; '.join(unknown)}", problems=unknown)
    values = {**field_values(tier), **changes}
    _check(SubscriptionTier, values, tier)
    if tier.is_default:
        _refuse_as_default(tier.key, values["is_addon"])
    assign(tier, values)
    db.session.flush()
    return tier


def _count_subscriptions(column: Any, tier: SubscriptionTier) -> int:
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(column.table).where(column == tier.id)
    )
    return int(count or 0)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _refuse_as_default(key: str, is_addon: bool) -> None:
    """Raise ValidationError when a tier with these values cannot be the default tier."""
    problem = default_tier_problem(key, is_addon)
    if problem is not None:
        message = f"{problem}: an add-on cannot be the default tier"
        raise ValidationError(message, key=key, problems=[message])


def tier_in_use(tier: SubscriptionTier) -> Conflict | None:
    """Return the refusal to delete ``tier`` while subscriptions refer to it, or None.

    A subscription refers to a tier it holds (current or past: the row is history) and to a
    tier a scheduled change will move it to (deleting that would drop the change silently).
    """
    # Imported here: billing's models import the catalog's, not the other way round.
    from ..billing.models import Subscription

    held = _count_subscriptions(Subscription.tier_id, tier)
    scheduled = _count_subscriptions(Subscription.scheduled_tier_id, tier)
    if not held and not scheduled:
        return None
    reasons = []
    if held:
        reasons.append(f"{_plural(held, 'subscription')} (current or past)")
    if scheduled:
        reasons.append(
            f"{_plural(scheduled, 'subscription')} scheduled to change to it at the period end"
        )
    return Conflict(
        f"tier {tier.key!r} has {' and '.join(reasons)}: "
        "it cannot be deleted while they refer to it",
        key=tier.key,
        subscriptions=held,
        scheduled_changes=scheduled,
    )


def delete_tier(tier: TierRef) -> None:
    """Delete a tier (not the default tier, nor one that subscriptions refer to)."""
    tier = get_tier(tier)
    if tier.is_default:
        raise Conflict(
            f"tier {tier.key!r} is the default tier; make another tier the default first",
            key=tier.key,
        )
    refusal = tier_in_use(tier)
    if refusal is not None:
        raise refusal
    db.session.delete(tier)
    db.session.flush()


def create_permission(
    key: str, name: str, description: str | None = None, **options: Unpack[PermissionOptions]
) -> Permission:
    """Create a permission (a feature unless ``kind`` says allocation or metered)."""
    values = {**defaults(PERMISSION_FIELDS), "key": key, "name": name}
    values.update(description=description, **options)
    _check(Permission, values, None)
    permission = Permission(**values)
    db.session.add(permission)
    db.session.flush()
    return permission


def update_permission(
    permission: PermissionRef, **changes: Unpack[PermissionChanges]
) -> Permission:
    """Change some of a permission's fields."""
    permission = get_permission(permission)
    values = {**field_values(permission), **changes}
    _check(Permission, values, permission)
    assign(permission, values)
    db.session.flush()
    return permission


def delete_permission(permission: PermissionRef) -> None:
    """Delete a permission; the tiers that granted it stop granting it."""
    db.session.delete(get_permission(permission))
    db.session.flush()


def grant_permission(tier: TierRef, permission: PermissionRef) -> bool:
    """Let a tier grant a permission; return False when it already did."""
    tier, permission = get_tier(tier), get_permission(permission)
    if permission in tier.permissions:
        return False
    tier.permissions.append(permission)
    db.session.flush()
    return True


def revoke_permission(tier: TierRef, permission: PermissionRef) -> bool:
    """Stop a tier granting a permission; return False when it did not grant it."""
    tier, permission = get_tier(tier), get_permission(permission)
    if permission not in tier.permissions:
        return False
    tier.permissions.remove(permission)
    db.session.flush()
    return True


def set_default_tier(tier: TierRef | None) -> SubscriptionTier | None:
    """Make a tier the one default tier (None: no default tier)."""
    chosen = get_tier(tier) if tier is not None else None
    if chosen is not None:
        _refuse_as_default(chosen.key, chosen.is_addon)
    for other in db.session.scalars(sa.select(SubscriptionTier).where(SubscriptionTier.is_default)):
        if other is not chosen:
            other.is_default = False
    # Flush the clearing first so that no flush ever sees two defaults.
    db.session.flush()
    if chosen is not None and not chosen.is_default:
        chosen.is_default = True
        db.session.flush()
    return chosen


def set_tier_limit(tier: TierRef, permission: PermissionRef, limit: int | None) -> bool:
    """Set a tier's limit on a permission it grants (None: unlimited); tell if it changed."""
    return set_limit(get_tier(tier), get_permission(permission), limit)

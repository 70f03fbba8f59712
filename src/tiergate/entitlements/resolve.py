"""What an account may do: entitlements computed from subscriptions, policy and catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..accounts.models import Invitation, Membership
from ..billing.models import Subscription
from ..catalog.models import SubscriptionTier
from ..db import db
from .policy import AccessPolicy


@dataclass(frozen=True)
class TierInfo:
    """A tier as entitlements need it, detached from any session."""

    id: int
    key: str
    name: str
    rank: int
    user_limit: int
    is_customer_facing: bool
    #: A customer can buy it (the catalog's ``SubscriptionTier.is_sellable``).
    sellable: bool
    permissions: frozenset[str]
    #: Bought beside a plan, never as one.
    is_addon: bool = False
    #: permission key -> the tier's limit on it (None: unlimited), for limited permissions.
    limits: Mapping[str, int | None] = field(default_factory=dict)

    @property
    def is_plan_for_sale(self) -> bool:
        """True when the tier is offered as a plan to upgrade to: sellable, not an add-on."""
        return self.sellable and not self.is_addon


@dataclass(frozen=True)
class LimitedPermission:
    """A permission that tiers put a number on: what it counts and how it is enforced."""

    key: str
    name: str
    kind: str
    enforcement: str
    unit: str | None
    meter_event_name: str | None
    metered_price_lookup_key: str | None

    @property
    def is_hard(self) -> bool:
        """True when the limit is exact and never exceeded."""
        return self.enforcement == "hard"

    @property
    def is_billed(self) -> bool:
        """True when usage is reported to a billing meter, and overage is billed, not refused."""
        return self.kind == "metered" and self.meter_event_name is not None


@dataclass(frozen=True)
class CatalogSnapshot:
    """The whole catalog, read once per catalog version."""

    tiers: Mapping[int, TierInfo]
    permission_keys: frozenset[str]
    default_tier_id: int | None
    #: permission key -> its limit kind, for allocation and metered permissions
    limited: Mapping[str, LimitedPermission] = field(default_factory=dict)

    def limit_tiers_above(self, permission: str, wanted: int) -> tuple[str, ...]:
        """Return the keys of plans for sale whose limit on ``permission`` holds ``wanted``.

        Cheapest first (rank, then the smaller limit); unlimited counts as the largest.
        """

        def holds(tier: TierInfo) -> bool:
            if not tier.is_plan_for_sale or permission not in tier.permissions:
                return False
            limit = tier.limits.get(permission)
            return limit is None or limit >= wanted

        def order(tier: TierInfo) -> tuple[int, float, int]:
            limit = tier.limits.get(permission)
            return (tier.rank, float("inf") if limit is None else limit, tier.id)

        return tuple(t.key for t in sorted(filter(holds, self.tiers.values()), key=order))

    def upgrade_tiers_for(self, permission: str) -> tuple[str, ...]:
        """Return the keys of sellable tiers granting ``permission``, lowest rank first."""
        tiers = [
            t for t in self.tiers.values() if t.is_plan_for_sale and permission in t.permissions
        ]
        return tuple(t.key for t in sorted(tiers, key=lambda t: (t.rank, t.id)))

    def seat_tiers_above(self, seats: int) -> tuple[str, ...]:
        """Return the keys of the tiers a customer can buy that hold ``seats``, cheapest first.

        Rank orders the catalog from the cheapest plan up; among equal ranks, the smaller
        plan comes first.
        """
        tiers = [t for t in self.tiers.values() if t.is_plan_for_sale and t.user_limit >= seats]
        return tuple(t.key for t in sorted(tiers, key=lambda t: (t.rank, t.user_limit, t.id)))


@dataclass(frozen=True)
class Entitlements:
    """What an account may do at ``computed_at`` and until ``valid_until``."""

    account_id: int
    tier: TierInfo | None
    source_subscription_id: int | None
    status: str | None
    permissions: frozenset[str]
    seats_used: int
    seat_limit: int
    computed_at: datetime
    valid_until: datetime | None
    #: Why the best subscription that no longer grants fell back (e.g. past_due_grace_expired).
    fallback_reason: str | None = None
    #: permission -> the reason a lapsed subscription's tier no longer grants it.
    lapsed: Mapping[str, str] = field(default_factory=dict)
    #: The granting subscription's current billing period (metered usage counts per period).
    period_start: datetime | None = None
    period_end: datetime | None = None
    #: The granting subscription's provider and customer (metered usage is reported there).
    provider: str | None = None
    provider_customer_id: str | None = None

    @property
    def tier_key(self) -> str | None:
        """The effective tier's key, or None when the catalog has no default tier."""
        return self.tier.key if self.tier else None

    @property
    def over_limit(self) -> bool:
        """True when the account holds more seats than its tier allows (after a downgrade)."""
        return self.seats_used > self.seat_limit

    @property
    def seats_free(self) -> int:
        """Seats that can still be taken (never negative)."""
        return max(self.seat_limit - self.seats_used, 0)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON representation."""
        return {
            "account_id": self.account_id,
            "tier": self.tier_key,
            "status": self.status,
            "source_subscription_id": self.source_subscription_id,
            "permissions": sorted(self.permissions),
            "seats": {
                "used": self.seats_used,
                "limit": self.seat_limit,
                "over_limit": self.over_limit,
            },
            "fallback_reason": self.fallback_reason,
        }


def read_catalog() -> CatalogSnapshot:
    """Read every tier with its permissions and limits, and every permission key."""
    from ..catalog.limits import all_limits
    from ..catalog.models import Permission

    limits = all_limits()
    tiers = db.session.scalars(
        sa.select(SubscriptionTier).options(selectinload(SubscriptionTier.permissions))
    ).all()
    infos = {
        tier.id: TierInfo(
            id=tier.id,
            key=tier.key,
            name=tier.name,
            rank=tier.rank,
            user_limit=tier.user_limit,
            is_customer_facing=tier.is_customer_facing,
            sellable=tier.is_sellable,
            permissions=frozenset(p.key for p in tier.permissions),
            is_addon=tier.is_addon,
            limits=limits.get(tier.id, {}),
        )
        for tier in tiers
    }
    default = next((tier.id for tier in tiers if tier.is_default), None)
    permissions = db.session.scalars(sa.select(Permission)).all()
    limited = {
        p.key: LimitedPermission(
            p.key,
            p.name,
            p.kind,
            p.enforcement,
            p.unit,
            p.meter_event_name,
            p.metered_price_lookup_key,
        )
        for p in permissions
        if p.is_limited
    }
    keys = frozenset(p.key for p in permissions)
    return CatalogSnapshot(infos, keys, default, limited)


def count_seats(
    account_id: int, now: datetime, *, locking: bool = False
) -> tuple[int, datetime | None]:
    """Return the seats used (members + pending invitations) and the next invitation expiry."""
    members = sa.select(Membership.id).where(Membership.account_id == account_id)
    pending = sa.select(Invitation.expires_at).where(
        Invitation.account_id == account_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    if locking:
        # MariaDB's REPEATABLE READ would otherwise count from a snapshot older than the lock.
        members, pending = members.with_for_update(read=True), pending.with_for_update(read=True)
    member_count = len(db.session.scalars(members).all())
    expiries = db.session.scalars(pending).all()
    return member_count + len(expiries), min(expiries, default=None)


def compute_entitlements(
    account_id: int,
    now: datetime,
    *,
    policy: AccessPolicy,
    catalog: CatalogSnapshot,
    locking: bool = False,
) -> Entitlements:
    """Decide the account's effective tier, permissions and seats at ``now`` (no cache)."""
    subscriptions = db.session.scalars(
        sa.select(Subscription).where(Subscription.account_id == account_id)
    ).all()
    granting: list[tuple[TierInfo, Subscription]] = []
    lapsed: list[tuple[TierInfo, str, Subscription]] = []
    changes: list[datetime] = []
    for subscription in subscriptions:
        tier = catalog.tiers.get(subscription.tier_id)
        if tier is None:  # a tier created after the catalog snapshot; the next one has it
            continue
        decision = policy.decide(subscription, now)
        if decision.changes_at is not None:
            changes.append(decision.changes_at)
        if decision.grants:
            granting.append((tier, subscription))
        elif decision.reason:
            lapsed.append((tier, decision.reason, subscription))
    seats_used, next_expiry = count_seats(account_id, now, locking=locking)
    if next_expiry is not None:
        changes.append(next_expiry)
    return _entitlements(account_id, now, catalog, granting, lapsed, seats_used, changes)


def _entitlements(
    account_id: int,
    now: datetime,
    catalog: CatalogSnapshot,
    granting: list[tuple[TierInfo, Subscription]],
    lapsed: list[tuple[TierInfo, str, Subscription]],
    seats_used: int,
    changes: list[datetime],
) -> Entitlements:
    source: Subscription | None = None
    tier: TierInfo | None
    if granting:
        tier, source = max(granting, key=lambda pair: (pair[0].rank, pair[0].id))
    else:
        tier = catalog.tiers.get(catalog.default_tier_id) if catalog.default_tier_id else None
    permissions = tier.permissions if tier else frozenset()
    lapsed_reasons: dict[str, str] = {}
    # Highest-ranked lapsed tier first, so its reason explains a permission it would grant.
    lapsed.sort(key=lambda item: (-item[0].rank, -item[2].id))
    for lapsed_tier, reason, _ in lapsed:
        for key in lapsed_tier.permissions - permissions:
            lapsed_reasons.setdefault(key, reason)
    fallback, status = None, source.status if source else None
    if lapsed and source is None:
        # Falling back: report the best lapsed subscription's state and why it stopped.
        fallback, status = lapsed[0][1], lapsed[0][2].status
    return Entitlements(
        account_id=account_id,
        tier=tier,
        source_subscription_id=source.id if source else None,
        status=status,
        permissions=permissions,
        seats_used=seats_used,
        seat_limit=tier.user_limit if tier else 0,
        computed_at=now,
        valid_until=min(changes, default=None),
        fallback_reason=fallback,
        lapsed=lapsed_reasons,
        period_start=source.current_period_start if source else None,
        period_end=source.current_period_end if source else None,
        provider=source.provider if source else None,
        provider_customer_id=source.provider_customer_id if source else None,
    )

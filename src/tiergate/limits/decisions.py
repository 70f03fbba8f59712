"""The limit decision: allowed, limit, used, remaining, reason and the tiers that would fit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..entitlements.check import LIMIT_REACHED, CheckResult, decide_permission
from ..entitlements.resolve import CatalogSnapshot, Entitlements
from ..errors import TiergateError
from .periods import Period

#: The fill at which a meter warns (and ``limit_threshold_reached`` is sent).
WARNING_FILL = 0.8
#: Percentages of a limit at which ``limit_threshold_reached`` is sent, once each crossing.
THRESHOLDS = (80, 100)


@dataclass(frozen=True)
class LimitCheck:
    """Whether ``amount`` more of a permission fits the account's tier, and its usage."""

    allowed: bool
    permission: str
    reason: str | None
    tier: str | None
    #: The tier's limit (None: unlimited, or not a limited permission).
    limit: int | None
    used: int
    amount: int = 1
    upgrade_to: tuple[str, ...] = ()
    kind: str = "feature"
    unit: str | None = None
    #: When a metered count starts again at zero (None: an allocation, never).
    resets_at: datetime | None = None
    #: Metered usage above the limit, billed rather than refused.
    billed: bool = False

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def remaining(self) -> int | None:
        """Units still free (never negative); None when unlimited."""
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def over_limit(self) -> bool:
        """True when more is used than the tier allows (after a downgrade, or billed overage)."""
        return self.limit is not None and self.used > self.limit

    @property
    def fill(self) -> float | None:
        """used / limit (None when unlimited; 1.0 for a limit of zero)."""
        if self.limit is None:
            return None
        return 1.0 if self.limit == 0 else self.used / self.limit

    def as_check_result(self) -> CheckResult:
        """Return the boolean decision's shape (for the 403 page and JSON denial)."""
        return CheckResult(self.allowed, self.permission, self.reason, self.tier, self.upgrade_to)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON representation."""
        return {
            "allowed": self.allowed,
            "permission": self.permission,
            "reason": self.reason,
            "tier": self.tier,
            "kind": self.kind,
            "unit": self.unit,
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "over_limit": self.over_limit,
            "billed": self.billed,
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
            "upgrade_to": list(self.upgrade_to),
        }


class LimitReached(TiergateError):
    """The account's tier does not allow that much more of a limited permission."""

    code = LIMIT_REACHED
    status = 409


class PermissionRefused(TiergateError):
    """The account's tier does not grant the permission at all (or it has lapsed)."""

    code = "permission_denied"
    status = 403


def decide_limit(
    entitlements: Entitlements,
    catalog: CatalogSnapshot,
    permission: str,
    used: int,
    amount: int,
    period: Period,
) -> LimitCheck:
    """Decide whether ``amount`` more of ``permission`` fits, given ``used`` in ``period``."""
    base = decide_permission(entitlements, catalog, permission)
    info = catalog.limited.get(permission)
    tier = entitlements.tier
    if info is None:
        allowed, reason, tier_key = base.allowed, base.reason, base.tier
        return LimitCheck(allowed, permission, reason, tier_key, None, 0, amount, base.upgrade_to)
    limit = tier.limits.get(permission) if tier is not None and base.allowed else None
    # Overage is billed only where there is someone to bill: a Stripe customer.
    billed = info.is_billed and entitlements.provider == "stripe"
    fits = base.allowed and (limit is None or used + amount <= limit or billed)
    reason = base.reason if not base.allowed else (None if fits else LIMIT_REACHED)
    upgrades = () if fits else catalog.limit_tiers_above(permission, used + amount)
    return LimitCheck(
        allowed=fits,
        permission=permission,
        reason=reason,
        tier=base.tier,
        limit=limit if base.allowed else 0,
        used=used,
        amount=amount,
        upgrade_to=upgrades,
        kind=info.kind,
        unit=info.unit,
        resets_at=period.end,
        billed=billed,
    )


def refusal(result: LimitCheck) -> TiergateError:
    """Return the error for a refused reservation or use."""
    details = result.to_dict()
    if result.reason == LIMIT_REACHED:
        return LimitReached(
            f"{result.permission}: {result.used} of {result.limit} used on tier "
            f"{result.tier!r}; {result.amount} more does not fit",
            **details,
        )
    return PermissionRefused(
        f"{result.permission} is not allowed on tier {result.tier!r} ({result.reason})",
        **details,
    )

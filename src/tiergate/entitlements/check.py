"""The answer to "may this account do X?", with a reason and the tiers that would allow it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .resolve import CatalogSnapshot, Entitlements

#: Reasons a check can give.
NOT_IN_TIER = "not_in_tier"
UNKNOWN_PERMISSION = "unknown_permission"
SEAT_LIMIT_REACHED = "seat_limit_reached"
LIMIT_REACHED = "limit_reached"


@dataclass(frozen=True)
class CheckResult:
    """Whether a permission is allowed; for a denial the reason and the tiers that allow it."""

    allowed: bool
    permission: str
    reason: str | None
    tier: str | None
    upgrade_to: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON representation."""
        return {
            "allowed": self.allowed,
            "permission": self.permission,
            "reason": self.reason,
            "tier": self.tier,
            "upgrade_to": list(self.upgrade_to),
        }


def decide_permission(
    entitlements: Entitlements, catalog: CatalogSnapshot, permission: str
) -> CheckResult:
    """Decide ``permission`` for an account from its entitlements."""
    tier = entitlements.tier_key
    if permission in entitlements.permissions:
        return CheckResult(True, permission, None, tier)
    if permission not in catalog.permission_keys:
        return CheckResult(False, permission, UNKNOWN_PERMISSION, tier)
    reason = entitlements.lapsed.get(permission, NOT_IN_TIER)
    return CheckResult(False, permission, reason, tier, catalog.upgrade_tiers_for(permission))


def decide_seat(
    entitlements: Entitlements, catalog: CatalogSnapshot, seats: int = 1
) -> CheckResult:
    """Decide whether ``seats`` more seats (a member or an invitation) fit the account's limit."""
    tier = entitlements.tier_key
    wanted = entitlements.seats_used + seats
    if wanted <= entitlements.seat_limit:
        return CheckResult(True, "seats", None, tier)
    return CheckResult(False, "seats", SEAT_LIMIT_REACHED, tier, catalog.seat_tiers_above(wanted))

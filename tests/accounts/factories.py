"""Builders for the accounts, billing, entitlements and audit tests (real rows, real DB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tiergate.accounts.models import Account
from tiergate.accounts.services import create_account
from tiergate.audit.services import Actor
from tiergate.billing.services import ApplyResult, SubscriptionState, apply_subscription_state
from tiergate.catalog import services as catalog
from tiergate.db import db
from tiergate.standalone.users import User, create_user

SYSTEM = Actor.system("tests")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
#: The password of the users the factories make (with password hashing at its cheapest).
PASSWORD = "correct horse"

#: key -> (rank, user_limit, provider, customer-facing, permissions)
TIERS: dict[str, tuple[int, int, str, bool, tuple[str, ...]]] = {
    "free": (0, 1, "exempt", True, ("reports.view",)),
    "pro": (10, 3, "stripe", True, ("reports.view", "reports.export")),
    "team": (20, 10, "stripe", True, ("reports.view", "reports.export", "audit.read")),
    "enterprise": (30, 50, "whop", True, ("reports.view", "reports.export", "audit.read", "sso")),
    "partner": (25, 20, "exempt", False, ("reports.view", "reports.export", "audit.read")),
    "staff": (100, 1000, "exempt", False, ("reports.view", "reports.export", "audit.read", "sso")),
}
PERMISSIONS = ("reports.view", "reports.export", "audit.read", "sso")


def make_catalog() -> None:
    """Create the test catalog: free (default), pro, team, enterprise, partner, staff."""
    for key in PERMISSIONS:
        catalog.create_permission(key, key.replace(".", " ").title())
    for key, (rank, limit, provider, facing, permissions) in TIERS.items():
        options: dict[str, Any] = {
            "rank": rank,
            "user_limit": limit,
            "billing_provider": provider,
            "is_customer_facing": facing,
        }
        if provider == "stripe":
            options["stripe_lookup_key"] = f"{key}_monthly"
        if provider == "whop":
            options["whop_product_key"] = f"prod_{key}"
        catalog.create_tier(key, key.title(), **options)
        for permission in permissions:
            catalog.grant_permission(key, permission)
    catalog.set_default_tier("free")
    db.session.commit()


#: The permission that lets an account's keys call the JSON API (TIERGATE_API_KEY_PERMISSION).
API_PERMISSION = "api.access"


def allow_api(*tiers: str) -> None:
    """Grant the API permission to ``tiers``, so their accounts' keys call the API; commit."""
    catalog.create_permission(API_PERMISSION, "API access")
    for key in tiers:
        catalog.grant_permission(key, API_PERMISSION)
    db.session.commit()


def make_user(
    email: str, *, staff: bool = False, password: str | None = PASSWORD, display_name: str = ""
) -> User:
    """Create a user, with the password ``PASSWORD`` unless told otherwise."""
    return create_user(
        email, password=password, display_name=display_name, is_staff=staff, actor=SYSTEM
    )


def make_account(
    slug: str, *, owner: str | None = None, password: str | None = PASSWORD
) -> Account:
    """Create an account, owned by a new user ``owner`` when given, and commit."""
    owner_user = make_user(owner, password=password) if owner else None
    account = create_account(slug.title(), slug=slug, owner=owner_user, actor=SYSTEM)
    db.session.commit()
    return account


def subscribe(
    account: Account,
    tier: str,
    *,
    status: str = "active",
    provider: str = "stripe",
    period_end: datetime | None = None,
    cancel_at_period_end: bool = False,
    updated_at: datetime = NOW - DAY,
    subscription_id: str | None = None,
    **extra: Any,
) -> ApplyResult:
    """Apply a provider subscription state for ``account`` and commit."""
    state = SubscriptionState(
        provider=provider,
        provider_subscription_id=subscription_id or f"sub_{account.slug}_{tier}",
        account_id=account.id,
        tier=tier,
        status=status,
        provider_updated_at=updated_at,
        current_period_end=period_end,
        cancel_at_period_end=cancel_at_period_end,
        **extra,
    )
    result = apply_subscription_state(state, actor=Actor.provider(provider, "evt_test"))
    db.session.commit()
    return result

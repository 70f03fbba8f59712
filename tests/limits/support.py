"""A catalog with limits for the limits tests (real rows, real database)."""

from __future__ import annotations

from tiergate.accounts.models import Account
from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db

from ..accounts.factories import NOW, SYSTEM, make_account, make_catalog, subscribe

__all__ = ["NOW", "SYSTEM", "limited_account", "make_limits_catalog", "subscribe"]

#: tier -> permission -> limit (None: unlimited); the tiers come from the accounts factories.
LIMITS: dict[str, dict[str, int | None]] = {
    "free": {"projects": 3, "api.calls": 100, "api.soft": 100, "api.billed": 100},
    "pro": {"projects": 50, "api.calls": 10_000, "api.soft": 10_000, "api.billed": 10_000},
    "team": {"projects": None, "api.calls": None, "api.soft": None, "api.billed": None},
    "partner": {"projects": 10, "api.calls": 1_000},
    "staff": {"projects": None, "api.calls": None},
}
PERMISSIONS = {
    "projects": {"kind": "allocation", "unit": "projects"},
    "api.calls": {"kind": "metered", "unit": "API calls"},
    "api.soft": {"kind": "metered", "enforcement": "soft", "unit": "API calls"},
    "api.billed": {
        "kind": "metered",
        "enforcement": "soft",
        "unit": "API calls",
        "meter_event_name": "api_calls",
        "metered_price_lookup_key": "api_calls_overage",
    },
}


def make_limits_catalog() -> None:
    """Create the accounts tests' catalog plus limited permissions and each tier's limits."""
    make_catalog()
    add_limits()


def add_limits() -> None:
    """Add the limited permissions and each tier's limits to the accounts tests' catalog."""
    for key, options in PERMISSIONS.items():
        catalog.create_permission(key, key.title(), **options)  # type: ignore[arg-type]
    for tier, limits in LIMITS.items():
        for key, limit in limits.items():
            catalog.grant_permission(tier, key)
            catalog.set_tier_limit(tier, key, limit)
    db.session.commit()


def limited_account(slug: str = "acme") -> Account:
    """Create the limits catalog and an account on the free tier (the default), committed."""
    make_limits_catalog()
    return make_account(slug, owner=f"owner@{slug}.test")


def reserve_committed(account_id: int, permission: str, amount: int) -> None:
    """Reserve in a transaction of its own and commit it."""
    from tiergate.limits import reserve

    begin_write_transaction()
    reserve(account_id, permission, amount, now=NOW)
    db.session.commit()

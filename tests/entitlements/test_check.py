"""check(): allowed, the reason for a denial, and the tiers that would allow it."""

from __future__ import annotations

import pytest

from tiergate.accounts.seats import invite_member
from tiergate.billing.services import grant_exempt_tier
from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db
from tiergate.entitlements.services import check, check_seat, entitlements_for

from ..accounts.factories import DAY, NOW, SYSTEM, make_account, subscribe


def test_a_granted_permission_is_allowed(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro")
    result = check(account, "reports.export", now=NOW)
    assert result.allowed and result.reason is None and result.tier == "pro"
    assert result.upgrade_to == ()


@pytest.mark.parametrize(
    ("tier", "permission", "upgrade_to"),
    [
        ("free", "reports.export", ("pro", "team", "enterprise")),
        ("pro", "audit.read", ("team", "enterprise")),
        ("team", "sso", ("enterprise",)),
    ],
)
def test_not_in_tier_names_the_sellable_tiers_lowest_rank_first(
    catalog_app, tier, permission, upgrade_to
):
    account = make_account("acme")
    if tier != "free":
        subscribe(account, tier)
    result = check(account, permission, now=NOW)
    assert not result.allowed
    assert (result.reason, result.tier, result.upgrade_to) == ("not_in_tier", tier, upgrade_to)


def test_upgrade_to_leaves_out_tiers_that_cannot_be_sold(catalog_app):
    # partner and staff grant audit.read but are not customer-facing; nor is team any more.
    catalog.update_tier("team", is_customer_facing=False)
    db.session.commit()
    account = make_account("acme")
    assert check(account, "audit.read", now=NOW).upgrade_to == ("enterprise",)


def test_unknown_permission(catalog_app):
    account = make_account("acme")
    result = check(account, "reports.delete_everything", now=NOW)
    assert (result.allowed, result.reason, result.upgrade_to) == (
        False,
        "unknown_permission",
        (),
    )


@pytest.mark.parametrize(
    ("status", "cancel", "now", "reason"),
    [
        ("past_due", False, NOW + 8 * DAY, "past_due_grace_expired"),
        ("canceled", False, NOW, "subscription_canceled"),
        ("active", True, NOW + DAY, "subscription_canceled"),
        ("unpaid", False, NOW, "subscription_unpaid"),
        ("paused", False, NOW, "subscription_paused"),
        ("incomplete", False, NOW, "subscription_incomplete"),
        ("expired", False, NOW, "subscription_expired"),
    ],
)
def test_lapsed_subscription_explains_the_denial(catalog_app, status, cancel, now, reason):
    account = make_account("acme")
    subscribe(account, "pro", status=status, period_end=NOW, cancel_at_period_end=cancel)
    result = check(account, "reports.export", now=now)
    assert (result.allowed, result.reason, result.tier) == (False, reason, "free")
    assert result.upgrade_to == ("pro", "team", "enterprise")
    # a permission the lapsed tier never granted is simply not in the tier
    assert check(account, "audit.read", now=now).reason == "not_in_tier"


def test_expired_exempt_grant_explains_the_denial(catalog_app):
    account = make_account("acme")
    grant_exempt_tier(
        account, "partner", actor=SYSTEM, reason="pilot", expires_at=NOW + DAY, now=NOW
    )
    db.session.commit()
    assert check(account, "audit.read", now=NOW).allowed
    result = check(account, "audit.read", now=NOW + 2 * DAY)
    assert (result.allowed, result.reason) == (False, "exempt_grant_expired")


def test_seat_limit_reached_names_the_tiers_with_room(catalog_app):
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro")  # 3 seats: the owner and two invitations fill it
    for email in ("a@acme.test", "b@acme.test"):
        begin_write_transaction()
        invite_member(account, email, actor=SYSTEM, now=NOW)
        db.session.commit()
    result = check_seat(account, now=NOW)
    assert (result.allowed, result.reason, result.tier) == (False, "seat_limit_reached", "pro")
    assert result.upgrade_to == ("team", "enterprise")
    entitlements = entitlements_for(account, now=NOW)
    assert (entitlements.seats_used, entitlements.seat_limit) == (3, 3)
    # once the invitations expire, their seats are free again
    assert check_seat(account, now=NOW + 8 * DAY).allowed


def test_check_result_serialises(catalog_app):
    account = make_account("acme")
    assert check(account, "reports.export", now=NOW).to_dict() == {
        "allowed": False,
        "permission": "reports.export",
        "reason": "not_in_tier",
        "tier": "free",
        "upgrade_to": ["pro", "team", "enterprise"],
    }


def test_seat_upgrades_are_the_cheapest_tiers_a_customer_can_buy(catalog_app) -> None:
    from tiergate.catalog import services as catalog_services
    from tiergate.entitlements.resolve import read_catalog

    # A free tier with room is granted, not sold; an add-on is no plan of its own.
    catalog_services.update_tier("free", user_limit=50)
    catalog_services.create_tier(
        "extra-seats",
        "Extra seats",
        rank=5,
        user_limit=50,
        billing_provider="stripe",
        stripe_lookup_key="extra_seats",
        is_addon=True,
    )
    catalog_services.create_tier(
        "pro-plus",
        "Pro plus",
        rank=10,
        user_limit=8,
        billing_provider="stripe",
        stripe_lookup_key="pro_plus",
    )
    db.session.commit()
    snapshot = read_catalog()
    assert snapshot.seat_tiers_above(2) == ("pro", "pro-plus", "team", "enterprise")
    assert snapshot.seat_tiers_above(4) == ("pro-plus", "team", "enterprise")
    assert "free" not in snapshot.upgrade_tiers_for("reports.view")

"""Catalog forms: the catalog's own rules, shown next to each field; nothing written on error."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.audit.models import AuditEvent
from tiergate.catalog.models import Permission, SubscriptionTier
from tiergate.db import db

from ..catalog.helpers import snapshot
from .support import field_errors, submit, text

VALID_TIER = {
    "name": "Gold",
    "key": "gold",
    "description": "For big teams.",
    "rank": "40",
    "user_limit": "25",
    "is_customer_facing": "y",
    "billing_provider": "stripe",
    "stripe_lookup_key": "gold_monthly",
    "whop_product_key": "",
    "fallback_price": "$99",
}


def tier(key: str) -> SubscriptionTier | None:
    db.session.rollback()
    return db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == key))


def test_each_tier_field_error_is_shown_next_to_its_field_and_nothing_is_written(
    staff, cast
) -> None:
    before = snapshot()
    bad = {
        **VALID_TIER,
        "name": "",
        "key": "Not A Key",
        "rank": "first",
        "user_limit": "0",
        "billing_provider": "paypal",
        "fallback_price": "$" + "9" * 40,
    }
    response = submit(staff, "/admin/tiers/new", **bad)

    assert response.status_code == 422
    page = text(response)
    errors = field_errors(page)
    assert errors["name"] == ["name may not be empty"]
    assert errors["key"][0].startswith("key 'Not A Key' may use only lowercase letters")
    assert errors["rank"] == ["Not a valid integer value."]
    assert errors["user_limit"] == ["user_limit must be at least 1, not 0"]
    assert errors["billing_provider"] == [
        "billing_provider 'paypal' is not one of exempt, stripe, whop"
    ]
    assert errors["fallback_price"] == ["fallback_price is 41 characters long; at most 32 fit"]
    assert set(errors) == {
        "name",
        "key",
        "rank",
        "user_limit",
        "billing_provider",
        "fallback_price",
    }
    # What was typed is kept.
    assert 'value="Not A Key"' in page
    assert 'value="first"' in page
    assert snapshot() == before


def test_a_provider_without_its_key_is_reported_on_the_key_field(staff, cast) -> None:
    before = snapshot()
    response = submit(
        staff, "/admin/tiers/new", **{**VALID_TIER, "stripe_lookup_key": "", "key": "gold2"}
    )
    assert response.status_code == 422
    assert field_errors(text(response)) == {
        "stripe_lookup_key": ["a stripe tier needs a stripe_lookup_key"]
    }
    response = submit(
        staff, "/admin/tiers/new", **{**VALID_TIER, "billing_provider": "whop", "key": "gold3"}
    )
    assert field_errors(text(response)) == {
        "whop_product_key": ["a whop tier needs a whop_product_key"]
    }
    assert snapshot() == before


def test_a_taken_unique_value_is_reported_on_its_field(staff, cast) -> None:
    before = snapshot()
    response = submit(
        staff,
        "/admin/tiers/new",
        **{**VALID_TIER, "key": "pro", "stripe_lookup_key": "team_monthly"},
    )
    assert response.status_code == 422
    errors = field_errors(text(response))
    assert errors["key"] == ["duplicate key 'pro', already used by tier 'pro'"]
    assert errors["stripe_lookup_key"] == [
        "duplicate stripe_lookup_key 'team_monthly', already used by tier 'team'"
    ]
    assert snapshot() == before


def test_a_tier_is_created_with_every_field_and_attributed_to_the_staff_user(staff, cast) -> None:
    response = submit(staff, "/admin/tiers/new", **VALID_TIER, is_default="y")
    assert response.status_code == 302

    gold = tier("gold")
    assert gold is not None
    assert (gold.name, gold.description, gold.rank, gold.user_limit) == (
        "Gold",
        "For big teams.",
        40,
        25,
    )
    assert (gold.is_customer_facing, gold.is_billing_exempt, gold.billing_provider) == (
        True,
        False,
        "stripe",
    )
    assert (gold.stripe_lookup_key, gold.whop_product_key, gold.fallback_price) == (
        "gold_monthly",
        None,
        "$99",
    )
    assert gold.is_default and not tier("free").is_default  # type: ignore[union-attr]
    created = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "tier.created", AuditEvent.target_id == str(gold.id)
        )
    )
    assert created is not None
    assert (created.actor_type, created.actor_label) == ("user", cast.emails["staff"])


def test_every_field_of_a_tier_can_be_edited(staff, cast) -> None:
    pro = tier("pro")
    assert pro is not None
    url = f"/admin/tiers/{pro.id}"
    changes = {
        "name": "Professional",
        "key": "professional",
        "description": "",
        "rank": "15",
        "user_limit": "5",
        "billing_provider": "whop",
        "is_billing_exempt": "y",
        "stripe_lookup_key": "",
        "whop_product_key": "prod_professional",
        "fallback_price": "$25",
    }  # is_customer_facing left unticked: it becomes false
    response = submit(staff, url, **changes)
    assert response.status_code == 302, field_errors(text(response))

    edited = tier("professional")
    assert edited is not None and edited.id == pro.id
    assert (edited.name, edited.description, edited.rank, edited.user_limit) == (
        "Professional",
        None,
        15,
        5,
    )
    assert (edited.billing_provider, edited.is_billing_exempt, edited.is_customer_facing) == (
        "whop",
        True,
        False,
    )
    assert (edited.stripe_lookup_key, edited.whop_product_key, edited.fallback_price) == (
        None,
        "prod_professional",
        "$25",
    )
    updated = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "tier.updated")
        .order_by(AuditEvent.id.desc())
    )
    assert updated is not None and updated.actor_label == cast.emails["staff"]
    assert updated.before["key"] == "pro" and updated.after["key"] == "professional"


def test_an_edit_with_errors_keeps_the_tier_as_it_was(staff, cast) -> None:
    pro = tier("pro")
    assert pro is not None
    before = snapshot()
    response = submit(
        staff, f"/admin/tiers/{pro.id}", **{**VALID_TIER, "key": "pro", "user_limit": "-3"}
    )
    assert response.status_code == 422
    assert field_errors(text(response)) == {"user_limit": ["user_limit must be at least 1, not -3"]}
    assert 'value="-3"' in text(response)
    assert snapshot() == before


def test_permission_field_errors_and_creation(staff, cast) -> None:
    before = snapshot()
    response = submit(staff, "/admin/permissions/new", key="reports.view", name=" ")
    assert response.status_code == 422
    # Field rules first; uniqueness is checked once the fields themselves are right.
    assert field_errors(text(response)) == {"name": ["name may not be empty"]}
    assert 'value="reports.view"' in text(response)
    assert snapshot() == before

    response = submit(staff, "/admin/permissions/new", key="billing.manage", name="Manage billing")
    assert response.status_code == 302
    db.session.rollback()
    created = db.session.scalar(sa.select(Permission).where(Permission.key == "billing.manage"))
    assert created is not None and created.name == "Manage billing"


def test_a_taken_permission_key_is_reported_on_the_key_field(staff, cast) -> None:
    before = snapshot()
    response = submit(staff, "/admin/permissions/new", key="sso", name="Single sign-on")
    assert response.status_code == 422
    assert field_errors(text(response)) == {
        "key": ["duplicate key 'sso', already used by permission 'sso'"]
    }
    assert snapshot() == before


def test_yearly_keys_trial_and_per_seat_are_saved_from_the_form(staff, cast) -> None:
    response = submit(
        staff,
        "/admin/tiers/new",
        **VALID_TIER,
        stripe_yearly_lookup_key="gold_yearly",
        trial_days="30",
        per_seat="y",
    )
    assert response.status_code == 302, text(response)
    gold = tier("gold")
    assert gold is not None
    assert (gold.stripe_yearly_lookup_key, gold.whop_yearly_product_key) == ("gold_yearly", None)
    assert (gold.trial_days, gold.per_seat, gold.is_addon) == (30, True, False)
    page = text(staff.get(f"/admin/tiers/{gold.id}"))
    assert 'value="gold_yearly"' in page and 'value="30"' in page


def test_bad_lifecycle_values_are_reported_on_their_fields(staff, cast) -> None:
    before = snapshot()
    response = submit(
        staff,
        "/admin/tiers/new",
        **{**VALID_TIER, "stripe_yearly_lookup_key": "team_monthly", "trial_days": "800"},
    )
    assert response.status_code == 422
    errors = field_errors(text(response))
    assert errors["trial_days"] == ["trial_days must be between 0 and 730, not 800"]
    assert snapshot() == before
    response = submit(
        staff, "/admin/tiers/new", **{**VALID_TIER, "stripe_yearly_lookup_key": "team_monthly"}
    )
    assert field_errors(text(response)) == {
        "stripe_yearly_lookup_key": [
            "duplicate stripe_yearly_lookup_key 'team_monthly', already used by tier 'team' "
            "as its stripe_lookup_key"
        ]
    }
    assert snapshot() == before

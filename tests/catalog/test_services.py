from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tiergate.catalog import Permission, SubscriptionTier, services, subscription_tier_permission
from tiergate.db import db
from tiergate.errors import Conflict, NotFound, ValidationError


def stripe_tier(key: str = "pro", lookup: str = "pro_monthly", **options):
    return services.create_tier(
        key, key.title(), billing_provider="stripe", stripe_lookup_key=lookup, **options
    )


def test_create_tier_takes_the_seed_defaults(app):
    tier = services.create_tier("free", "Free")
    db.session.commit()
    stored = db.session.get(SubscriptionTier, tier.id)
    assert (stored.user_limit, stored.billing_provider, stored.fallback_price) == (
        1,
        "exempt",
        "$0",
    )
    assert stored.is_customer_facing and not stored.is_billing_exempt and not stored.is_default
    assert stored.rank == 0 and stored.has_valid_integration


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"user_limit": 0}, "user_limit must be at least 1, not 0"),
        ({"user_limit": -3}, "user_limit must be at least 1, not -3"),
        ({"user_limit": True}, "user_limit must be an integer"),
        ({"billing_provider": "paypal"}, "billing_provider 'paypal' is not one of"),
        ({"billing_provider": "stripe"}, "a stripe tier needs a stripe_lookup_key"),
        ({"billing_provider": "whop"}, "a whop tier needs a whop_product_key"),
        ({"fallback_price": "$" + "9" * 32}, "fallback_price is 33 characters long; at most 32"),
        ({"stripe_lookup_key": " pro"}, "may not start or end with whitespace"),
        ({"trial_days": 731}, "trial_days must be between 0 and 730, not 731"),
        ({"trial_days": "7"}, "trial_days must be an integer"),
        ({"per_seat": 1}, "per_seat must be true or false"),
        ({"is_addon": None}, "is_addon is required and may not be null"),
        (
            {"stripe_yearly_lookup_key": "pro_yearly"},
            "stripe_yearly_lookup_key needs a stripe_lookup_key",
        ),
        (
            {"stripe_lookup_key": "pro_m", "stripe_yearly_lookup_key": "PRO_M"},
            "stripe_yearly_lookup_key 'PRO_M' is the tier's own stripe_lookup_key; it must differ",
        ),
        ({"whop_yearly_product_key": "p" * 129}, "whop_yearly_product_key is 129 characters"),
    ],
)
def test_create_tier_rejects_bad_values(app, options, problem):
    with pytest.raises(ValidationError, match=problem.replace("$", r"\$")) as raised:
        services.create_tier("pro", "Pro", **options)
    assert raised.value.message.startswith("tier 'pro': ")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SubscriptionTier)) == 0


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("k" * 33, "key is 33 characters long; at most 32 fit"),
        ("Pro Plan", "may use only lowercase letters"),
        ("", "key may not be empty"),
    ],
)
def test_create_tier_rejects_bad_keys(app, key, problem):
    with pytest.raises(ValidationError, match=problem):
        services.create_tier(key, "A tier")


def test_duplicate_tier_keys_conflict(app):
    services.create_tier("pro", "Pro")
    with pytest.raises(Conflict, match="tier 'pro': duplicate key 'pro', already used by tier"):
        services.create_tier("pro", "Pro again")


def test_provider_keys_are_unique_ignoring_case(app):
    stripe_tier("pro", "tiergate_pro")
    with pytest.raises(Conflict, match="duplicate stripe_lookup_key 'TIERGATE_PRO'"):
        stripe_tier("team", "TIERGATE_PRO")
    services.create_tier("club", "Club", billing_provider="whop", whop_product_key="prod_1")
    with pytest.raises(Conflict, match="duplicate whop_product_key 'prod_1'"):
        services.create_tier("band", "Band", billing_provider="whop", whop_product_key="prod_1")


def test_yearly_keys_share_the_primary_keys_values(app):
    stripe_tier("pro", "pro_monthly", stripe_yearly_lookup_key="pro_yearly")
    db.session.commit()
    with pytest.raises(
        Conflict,
        match="tier 'team': duplicate stripe_yearly_lookup_key 'pro_monthly', already used by "
        "tier 'pro' as its stripe_lookup_key",
    ):
        stripe_tier("team", "team_monthly", stripe_yearly_lookup_key="pro_monthly")
    with pytest.raises(
        Conflict,
        match="duplicate stripe_lookup_key 'Pro_Yearly', already used by tier 'pro' as its "
        "stripe_yearly_lookup_key",
    ):
        stripe_tier("team", "Pro_Yearly")
    services.create_tier("club", "Club", billing_provider="whop", whop_product_key="prod_1")
    db.session.commit()
    with pytest.raises(ValidationError, match="'prod_1' is the tier's own whop_product_key"):
        services.update_tier("club", whop_yearly_product_key="prod_1")
    db.session.rollback()
    assert [tier.key for tier in services.list_tiers()] == ["club", "pro"]


def test_lifecycle_fields_are_stored_and_updated(app):
    tier = stripe_tier(
        "team", "team_m", stripe_yearly_lookup_key="team_y", trial_days=14, per_seat=True
    )
    db.session.commit()
    assert (tier.stripe_yearly_lookup_key, tier.trial_days, tier.per_seat, tier.is_addon) == (
        "team_y",
        14,
        True,
        False,
    )
    services.update_tier("team", trial_days=0, is_addon=True, stripe_yearly_lookup_key=None)
    db.session.commit()
    assert (tier.stripe_yearly_lookup_key, tier.trial_days, tier.is_addon) == (None, 0, True)


def test_update_tier_changes_only_what_it_is_given(app):
    tier = stripe_tier("pro", "pro_monthly", user_limit=5)
    services.update_tier("pro", user_limit=10, fallback_price="$29/mo")
    db.session.commit()
    assert (tier.user_limit, tier.fallback_price, tier.stripe_lookup_key) == (
        10,
        "$29/mo",
        "pro_monthly",
    )


def test_update_tier_keeps_its_own_unique_values_and_refuses_others(app):
    stripe_tier("pro", "pro_monthly")
    stripe_tier("team", "team_monthly")
    services.update_tier("pro", stripe_lookup_key="pro_monthly", name="Pro!")
    with pytest.raises(Conflict, match="duplicate stripe_lookup_key 'team_monthly'"):
        services.update_tier("pro", stripe_lookup_key="team_monthly")
    with pytest.raises(Conflict, match="duplicate key 'team'"):
        services.update_tier("pro", key="team")


def test_update_tier_rejects_unknown_fields_and_bad_combinations(app):
    services.create_tier("free", "Free")
    with pytest.raises(ValidationError, match="unknown field 'colour'"):
        services.update_tier("free", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="a stripe tier needs a stripe_lookup_key"):
        services.update_tier("free", billing_provider="stripe")
    db.session.commit()
    assert services.get_tier("free").billing_provider == "exempt"


def test_update_tier_without_changes_keeps_updated_at(app):
    tier = services.create_tier("free", "Free")
    tier.updated_at = datetime(2020, 1, 1, tzinfo=UTC)
    db.session.commit()
    services.update_tier("free", name="Free", user_limit=1)
    db.session.commit()
    assert services.get_tier("free").updated_at == datetime(2020, 1, 1, tzinfo=UTC)


def test_missing_rows_are_not_found(app):
    with pytest.raises(NotFound, match="no tier with key 'gold'"):
        services.update_tier("gold", name="Gold")
    with pytest.raises(NotFound, match="no permission with key 'x.y'"):
        services.delete_permission("x.y")


def test_delete_tier_removes_its_grants_but_not_the_default(app):
    free = services.create_tier("free", "Free")
    services.create_tier("pro", "Pro")
    services.create_permission("reports.view", "View reports")
    services.grant_permission("pro", "reports.view")
    services.set_default_tier(free)
    services.delete_tier("pro")
    with pytest.raises(Conflict, match="tier 'free' is the default tier"):
        services.delete_tier("free")
    db.session.commit()
    assert [tier.key for tier in services.list_tiers()] == ["free"]
    links = db.session.execute(sa.select(subscription_tier_permission)).all()
    assert links == []


def test_delete_tier_refuses_a_tier_that_subscriptions_refer_to(app):
    from ..accounts.factories import make_account, make_catalog, subscribe

    make_catalog()
    subscribe(make_account("acme"), "pro")
    subscribe(make_account("globex"), "pro", status="canceled")
    with pytest.raises(Conflict, match=r"tier 'pro' has 2 subscriptions \(current or past\)") as e:
        services.delete_tier("pro")
    assert e.value.details == {"key": "pro", "subscriptions": 2, "scheduled_changes": 0}
    db.session.rollback()
    assert services.get_tier("pro").key == "pro"
    services.delete_tier("team")  # no subscription refers to it
    db.session.commit()
    assert "team" not in [tier.key for tier in services.list_tiers()]


def test_delete_tier_refuses_a_tier_a_scheduled_change_points_to(app):
    from ..accounts.factories import make_account, make_catalog, subscribe

    make_catalog()
    acme = make_account("acme")
    result = subscribe(acme, "team")
    result.subscription.scheduled_tier_id = services.get_tier("pro").id
    result.subscription.scheduled_change_at = datetime(2026, 4, 1, tzinfo=UTC)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        services.delete_tier("pro")
    assert refused.value.message == (
        "tier 'pro' has 1 subscription scheduled to change to it at the period end: "
        "it cannot be deleted while they refer to it"
    )
    assert refused.value.details == {"key": "pro", "subscriptions": 0, "scheduled_changes": 1}
    db.session.rollback()
    assert services.get_tier("pro").key == "pro"


def test_permissions_are_created_updated_and_deleted(app):
    services.create_permission("reports.view", "View reports", "See reports")
    with pytest.raises(Conflict, match="duplicate key 'reports.view'"):
        services.create_permission("reports.view", "Again")
    with pytest.raises(ValidationError, match="name is 129 characters long; at most 128 fit"):
        services.create_permission("reports.export", "n" * 129)
    with pytest.raises(ValidationError, match="key is 65 characters long; at most 64 fit"):
        services.create_permission("p" * 65, "Too long")
    services.update_permission("reports.view", name="Read reports")
    assert services.get_permission("reports.view").name == "Read reports"
    tier = services.create_tier("pro", "Pro")
    services.grant_permission(tier, "reports.view")
    services.delete_permission("reports.view")
    db.session.commit()
    assert db.session.scalars(sa.select(Permission)).all() == []
    assert services.get_tier("pro").permissions == []


def test_grant_and_revoke_report_whether_anything_changed(app):
    services.create_tier("pro", "Pro")
    services.create_permission("api.access", "Use the API")
    assert services.grant_permission("pro", "api.access") is True
    assert services.grant_permission("pro", "api.access") is False
    db.session.commit()
    assert [p.key for p in services.get_tier("pro").permissions] == ["api.access"]
    assert services.revoke_permission("pro", "api.access") is True
    assert services.revoke_permission("pro", "api.access") is False
    db.session.commit()
    assert services.get_tier("pro").permissions == []


def test_set_default_tier_keeps_at_most_one(app):
    services.create_tier("free", "Free")
    services.create_tier("basic", "Basic")
    services.set_default_tier("free")
    services.set_default_tier("basic")
    db.session.commit()
    defaults = db.session.scalars(
        sa.select(SubscriptionTier.key).where(SubscriptionTier.is_default)
    )
    assert defaults.all() == ["basic"]
    assert services.get_default_tier().key == "basic"
    services.set_default_tier(None)
    db.session.commit()
    assert services.get_default_tier() is None


def test_an_add_on_is_never_the_default_tier(app):
    services.create_tier("free", "Free")
    services.create_tier("seats", "Extra seats", is_addon=True)
    services.set_default_tier("free")
    db.session.commit()
    with pytest.raises(ValidationError, match="an add-on cannot be the default tier"):
        services.set_default_tier("seats")
    with pytest.raises(ValidationError, match=r"tier 'free' is an add-on \(is_addon\)"):
        services.update_tier("free", is_addon=True)
    db.session.rollback()
    assert (services.get_default_tier().key, services.get_tier("free").is_addon) == (
        "free",
        False,
    )
    exported = services.export_catalog()
    assert services.load_catalog(exported, source="export").tiers.changes == 0  # loads again
    services.set_default_tier(None)
    services.update_tier("free", is_addon=True)  # not the default any more: allowed


def test_list_tiers_orders_by_rank_then_key(app):
    services.create_tier("team", "Team", rank=20)
    services.create_tier("pro", "Pro", rank=10)
    services.create_tier("free", "Free", rank=0)
    services.create_tier("basic", "Basic", rank=10)
    assert [tier.key for tier in services.list_tiers()] == ["free", "basic", "pro", "team"]


def test_sellable_is_one_rule_for_checkout_and_upgrade_suggestions(app):
    from tiergate.entitlements.resolve import read_catalog
    from tiergate.web.billing import is_purchasable

    from ..accounts.factories import make_catalog

    make_catalog()
    services.create_tier(
        "extra-seats",
        "Extra seats",
        billing_provider="stripe",
        stripe_lookup_key="extra_seats",
        user_limit=50,
        is_addon=True,
    )
    db.session.commit()
    snapshot = read_catalog()
    for tier in services.list_tiers():
        assert is_purchasable(tier) is tier.is_sellable is snapshot.tiers[tier.id].sellable
    assert services.get_tier("extra-seats").is_sellable  # bought beside a plan
    assert not services.get_tier("free").is_sellable  # granted, never sold
    assert "extra-seats" not in snapshot.seat_tiers_above(20)  # but never suggested as a plan

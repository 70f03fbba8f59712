from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tiergate.catalog import SubscriptionTier, services
from tiergate.catalog.schemas import CatalogError, dump_yaml, parse_yaml
from tiergate.db import db
from tiergate.errors import NotFound

from .helpers import DEMO_TEXT, demo_document, snapshot, tier_entry

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def load(document, **options):
    summary = services.load_catalog(document, source="catalog.yaml", **options)
    db.session.commit()
    return summary


def test_demo_catalog_loads_as_described(app):
    summary = load(parse_yaml(DEMO_TEXT, "demo.yaml"))
    assert (len(summary.permissions.created), len(summary.tiers.created)) == (11, 5)
    assert [tier.key for tier in services.list_tiers()] == [
        "free",
        "community",
        "pro",
        "team",
        "staff",
    ]
    pro = services.get_tier("pro")
    assert (pro.billing_provider, pro.stripe_lookup_key, pro.fallback_price, pro.user_limit) == (
        "stripe",
        "tiergate_pro_monthly",
        "$19/mo",
        5,
    )
    assert (pro.stripe_yearly_lookup_key, pro.trial_days, pro.per_seat) == (
        "tiergate_pro_yearly",
        14,
        False,
    )
    team = services.get_tier("team")
    assert (team.stripe_yearly_lookup_key, team.trial_days, team.per_seat) == (
        "tiergate_team_yearly",
        0,
        True,
    )
    community = services.get_tier("community")
    assert community.whop_product_key == "prod_tiergateCommunity"
    staff = services.get_tier("staff")
    assert staff.is_billing_exempt and not staff.is_customer_facing
    assert len(staff.permissions) == 11
    assert services.get_default_tier().key == "free"
    assert all(tier.has_valid_integration for tier in services.list_tiers())


def round_trip(app_document):
    """Load, export, empty the catalog with prune, load the export, export again."""
    load(app_document)
    exported = services.export_catalog()
    emptied = load({"permissions": [], "tiers": []}, prune=True)
    assert emptied.tiers.deleted and services.list_tiers() == []
    assert snapshot()["subscription_tier_permission"] == []
    load(exported)
    return exported, services.export_catalog()


def test_round_trip_on_every_backend(any_backend_app):
    document = demo_document()
    tier_entry(document, "team")["description"] = "Ünïcödé — and 'quotes': \"fine\""
    tier_entry(document, "pro")["rank"] = 30  # ties with team: ordered by key
    exported, again = round_trip(document)
    assert again == exported
    assert dump_yaml(again) == dump_yaml(exported)
    assert [tier["key"] for tier in exported["tiers"]] == [
        "free",
        "community",
        "pro",
        "team",
        "staff",
    ]
    assert exported["default_tier"] == "free"


def test_reload_on_every_backend_changes_nothing(any_backend_app):
    load(demo_document())
    db.session.execute(sa.update(SubscriptionTier).values(updated_at=LONG_AGO))
    db.session.commit()
    before = snapshot()
    summary = load(demo_document())
    assert summary.changes == 0
    assert len(summary.tiers.unchanged) == 5 and len(summary.permissions.unchanged) == 11
    assert snapshot() == before


def test_export_loads_into_a_fresh_database(app, backend_app):
    document = demo_document()
    tier_entry(document, "free")["fallback_price"] = None
    load(document)
    exported = services.export_catalog()
    with backend_app("sqlite"):
        assert services.list_tiers() == []
        load(exported)
        assert services.export_catalog() == exported


def test_reload_updates_fields_and_sets_links_exactly(app):
    load(demo_document())
    db.session.execute(sa.update(SubscriptionTier).values(updated_at=LONG_AGO))
    db.session.commit()
    document = demo_document()
    tier_entry(document, "pro")["user_limit"] = 7
    tier_entry(document, "team")["permissions"] = ["projects.view"]
    del tier_entry(document, "team")["limits"]  # limits only what the tier grants
    del tier_entry(document, "community")["description"]  # an omitted field takes its default
    summary = load(document)
    assert sorted(summary.tiers.updated) == ["community", "pro", "team"]
    assert summary.tiers.unchanged == ["free", "staff"]
    assert services.get_tier("pro").user_limit == 7
    team = services.get_tier("team")
    assert [p.key for p in team.permissions] == ["projects.view"]
    assert team.updated_at > LONG_AGO
    assert services.get_tier("community").description is None
    assert services.get_tier("free").updated_at == LONG_AGO


def test_rows_missing_from_the_file_are_left_alone_and_reported(app):
    load(demo_document())
    document = demo_document()
    document["tiers"] = [tier for tier in document["tiers"] if tier["key"] != "staff"]
    document["permissions"] = [p for p in document["permissions"] if p["key"] != "admin.console"]
    summary = load(document)
    assert summary.changes == 0
    assert summary.tiers.not_in_file == ["staff"]
    assert summary.permissions.not_in_file == ["admin.console"]
    assert "not in the file, left alone: staff" in "\n".join(summary.lines())
    assert [p.key for p in services.get_tier("staff").permissions][0] == "admin.console"


def test_prune_deletes_rows_missing_from_the_file(app):
    load(demo_document())
    document = demo_document()
    document["tiers"] = [tier for tier in document["tiers"] if tier["key"] != "staff"]
    document["permissions"] = [p for p in document["permissions"] if p["key"] != "admin.console"]
    summary = load(document, prune=True)
    assert summary.tiers.deleted == ["staff"] and summary.permissions.deleted == ["admin.console"]
    assert "staff" not in [tier.key for tier in services.list_tiers()]
    with pytest.raises(NotFound, match="no permission with key 'admin.console'"):
        services.get_permission("admin.console")


def test_prune_refuses_tiers_that_subscriptions_refer_to_and_changes_nothing(app):
    from ..accounts.factories import make_account, subscribe

    load(demo_document())
    subscribe(make_account("acme"), "pro")
    before = snapshot()
    document = demo_document()
    document["tiers"] = [tier for tier in document["tiers"] if tier["key"] not in ("pro", "staff")]
    with pytest.raises(CatalogError) as refused:
        load(document, prune=True)
    assert (
        "catalog.yaml: tier 'pro' in the database (not in catalog.yaml): tier 'pro' has 1 "
        "subscription (current or past): it cannot be deleted while they refer to it"
    ) in refused.value.message
    assert "'staff'" not in refused.value.message  # unused tiers may go
    db.session.rollback()
    assert snapshot() == before


def test_the_file_names_the_one_default_tier(app):
    load(demo_document())
    services.create_tier("legacy", "Legacy")
    services.set_default_tier("legacy")
    db.session.commit()
    summary = load(demo_document())
    assert "legacy" in summary.tiers.not_in_file and "legacy" in summary.tiers.updated
    assert services.get_default_tier().key == "free"
    document = demo_document()
    document["default_tier"] = "pro"
    load(document)
    assert services.get_default_tier().key == "pro"
    document["default_tier"] = None
    load(document)
    assert services.get_default_tier() is None


def test_two_tiers_may_swap_provider_keys_in_one_load(any_backend_app):
    load(demo_document())
    document = demo_document()
    tier_entry(document, "pro")["stripe_lookup_key"] = "tiergate_team_monthly"
    tier_entry(document, "team")["stripe_lookup_key"] = "tiergate_pro_monthly"
    summary = load(document)
    assert sorted(summary.tiers.updated) == ["pro", "team"]
    assert services.get_tier("pro").stripe_lookup_key == "tiergate_team_monthly"
    assert services.get_tier("team").stripe_lookup_key == "tiergate_pro_monthly"


def test_lifecycle_fields_reload_and_yearly_keys_move_between_columns(any_backend_app):
    load(demo_document())
    document = demo_document()
    pro, team = tier_entry(document, "pro"), tier_entry(document, "team")
    # Pro's yearly price becomes Team's monthly one, and Team's monthly becomes Pro's yearly.
    pro["stripe_yearly_lookup_key"], team["stripe_lookup_key"] = (
        "tiergate_team_monthly",
        "tiergate_pro_yearly",
    )
    team["stripe_yearly_lookup_key"] = None
    pro.update(trial_days=30, per_seat=True, is_addon=False)
    summary = load(document)
    assert sorted(summary.tiers.updated) == ["pro", "team"]
    exported = {tier["key"]: tier for tier in services.export_catalog()["tiers"]}
    assert {name: exported["pro"][name] for name in pro if name != "permissions"} == {
        name: value for name, value in pro.items() if name != "permissions"
    }
    assert exported["team"]["stripe_lookup_key"] == "tiergate_pro_yearly"
    assert exported["team"]["stripe_yearly_lookup_key"] is None


def test_a_clash_with_a_tier_outside_the_file_is_refused_unless_pruned(app):
    load(demo_document())
    services.create_tier("old", "Old", billing_provider="stripe", stripe_lookup_key="legacy_key")
    db.session.commit()
    document = demo_document()
    tier_entry(document, "pro")["stripe_lookup_key"] = "legacy_key"
    before = snapshot()
    with pytest.raises(CatalogError) as raised:
        services.load_catalog(document, source="catalog.yaml")
    db.session.rollback()
    assert (
        "catalog.yaml: tiers[2] (key 'pro'): duplicate stripe_lookup_key 'legacy_key', "
        "already used by tier 'old' in the database (not in catalog.yaml)"
    ) in raised.value.message
    assert snapshot() == before
    load(document, prune=True)
    assert services.get_tier("pro").stripe_lookup_key == "legacy_key"

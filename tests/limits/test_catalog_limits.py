"""Limits in the catalog file: load, export, round trip, prune; a bad file changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.catalog.limits import tier_limits
from tiergate.catalog.models import SubscriptionTier
from tiergate.catalog.schemas import CatalogError
from tiergate.catalog.services import export_catalog, get_tier, load_catalog
from tiergate.db import db
from tiergate.limits import check

from ..accounts.factories import make_account
from ..catalog.helpers import demo_document, snapshot, tier_entry


def test_the_demo_catalog_loads_its_limits_and_exports_them_unchanged(app):
    document = demo_document()
    load_catalog(document, source="demo.yaml")
    db.session.commit()
    assert tier_limits(get_tier("free").id) == {"api.calls": 1000, "projects": 3}
    assert tier_limits(get_tier("team").id) == {"api.calls": 100_000, "projects": None}
    exported = export_catalog()
    assert tier_entry(exported, "pro")["limits"] == {"api.calls": 10_000, "projects": 50}
    again = load_catalog(exported, source="export")
    assert again.changes == 0
    assert export_catalog() == exported


def test_a_changed_limit_is_an_update_and_reaches_check(app):
    load_catalog(demo_document(), source="demo.yaml")
    db.session.commit()
    account = make_account("acme")
    assert check(account.id, "projects", amount=0).limit == 3
    document = demo_document()
    tier_entry(document, "free")["limits"]["projects"] = 5
    summary = load_catalog(document, source="changed")
    db.session.commit()
    assert summary.tiers.updated == ["free"]
    assert check(account.id, "projects", amount=0).limit == 5


def test_leaving_a_limit_out_makes_it_unlimited(app):
    document = demo_document()
    load_catalog(document, source="demo.yaml")
    del tier_entry(document, "free")["limits"]["projects"]
    load_catalog(document, source="changed")
    db.session.commit()
    assert tier_limits(get_tier("free").id)["projects"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: tier_entry(d, "free")["limits"].update(projects=-1), "between 0 and"),
        (lambda d: tier_entry(d, "free")["limits"].update(projects="many"), "an integer or null"),
        (lambda d: tier_entry(d, "free")["limits"].update({"sso.configure": 1}), "not grant"),
        (lambda d: tier_entry(d, "pro")["limits"].update({"reports.view": 1}), "is a feature"),
        (lambda d: tier_entry(d, "free").update(limits=[3]), "limits must be a mapping"),
        (lambda d: d["permissions"][0].update(kind="counter"), "kind 'counter' is not one of"),
        (lambda d: d["permissions"][0].update(enforcement="soft"), "only a metered permission"),
        (
            lambda d: d["permissions"][0].update(meter_event_name="x"),
            "meter_event_name is only for a metered permission",
        ),
    ],
)
def test_a_bad_limit_in_the_file_is_named_and_nothing_changes(app, change, message):
    load_catalog(demo_document(), source="demo.yaml")
    db.session.commit()
    before = snapshot()
    document = demo_document()
    change(document)
    with pytest.raises(CatalogError, match=message):
        load_catalog(document, source="bad.yaml")
    db.session.rollback()
    assert snapshot() == before


def test_prune_keeps_limits_of_the_tiers_left(app):
    document = demo_document()
    load_catalog(document, source="demo.yaml")
    document["tiers"] = [t for t in document["tiers"] if t["key"] != "community"]
    load_catalog(document, source="pruned", prune=True)
    db.session.commit()
    keys = db.session.scalars(sa.select(SubscriptionTier.key)).all()
    assert "community" not in keys and "pro" in keys
    assert tier_limits(get_tier("pro").id) == {"api.calls": 10_000, "projects": 50}

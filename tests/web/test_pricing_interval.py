"""/pricing's monthly/yearly switch: both provider prices, links that need no script, buttons
that carry the interval, and tiers without a yearly price shown monthly only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from tiergate.db import db, utcnow

from ..accounts.factories import subscribe
from ..browsing import log_in
from ..conftest import app_on_copy, http_client
from .support import make_account, text
from .test_pricing_prices import load_demo_catalog, price_of
from .test_pricing_upgrades import tier_section


@pytest.fixture
def demo_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The demo catalog sold through the sandbox, whose yearly price is ten months'."""
    yield from app_on_copy(
        tmp_path, sqlite_template, "demo", load_demo_catalog, TIERGATE_SANDBOX=True
    )


def interval_of_form(section: str) -> str:
    found = re.search(r'<input type="hidden" name="interval" value="([a-z]+)">', section)
    assert found, section
    return found.group(1)


def test_the_switch_is_two_links_and_monthly_is_the_default(demo_app) -> None:
    body = text(http_client(demo_app).get("/pricing"))
    assert '<a href="/pricing" aria-current="page">Monthly</a>' in body
    assert '<a href="/pricing?interval=year">Yearly</a>' in body
    assert "<script" not in body
    assert price_of(body, "pro") == (
        '<p class="tier-price tier-price-provider" data-price-source="stripe">$19/mo</p>'
    )
    pro = tier_section(body, "pro")
    assert "or $190/yr billed yearly" in pro and "14-day free trial" in pro
    assert "per seat, for the seats in use" in tier_section(body, "team")
    assert "per seat" not in pro


def test_yearly_shows_the_yearly_provider_prices(demo_app) -> None:
    body = text(http_client(demo_app).get("/pricing?interval=year"))
    assert '<a href="/pricing?interval=year" aria-current="page">Yearly</a>' in body
    assert price_of(body, "pro").endswith('data-price-source="stripe">$190/yr</p>')
    assert price_of(body, "team").endswith('data-price-source="stripe">$490/yr</p>')
    assert "or $19/mo billed monthly" in tier_section(body, "pro")
    community = tier_section(body, "community")
    assert price_of(body, "community").endswith(">$9/mo</p>")
    assert "Monthly billing only" in community
    assert "Monthly billing only" not in tier_section(body, "free")  # nothing to bill


def test_each_button_carries_the_interval_it_shows(demo_app) -> None:
    make_account("acme", owner="owner@acme.test")
    client = http_client(demo_app)
    log_in(client, "owner@acme.test")
    monthly = text(client.get("/pricing"))
    assert interval_of_form(tier_section(monthly, "pro")) == "month"
    yearly = text(client.get("/pricing?interval=year"))
    assert interval_of_form(tier_section(yearly, "pro")) == "year"
    assert interval_of_form(tier_section(yearly, "team")) == "year"
    assert "Billed yearly" in tier_section(yearly, "team")
    # Community has no yearly price: its button buys the monthly one.
    assert interval_of_form(tier_section(yearly, "community")) == "month"


def test_without_yearly_prices_there_is_no_switch(demo_app) -> None:
    from tiergate.catalog import services as catalog
    from tiergate.db import db

    for key in ("pro", "team"):
        catalog.update_tier(key, stripe_yearly_lookup_key=None)
    db.session.commit()
    body = text(http_client(demo_app).get("/pricing?interval=year"))
    assert "interval-switch" not in body and "billed yearly" not in body
    assert price_of(body, "pro").endswith(">$19/mo</p>")


def test_a_whop_yearly_product_shows_its_plans_price(demo_app) -> None:
    from tiergate.catalog import services as catalog
    from tiergate.db import db

    catalog.update_tier("community", whop_yearly_product_key="prod_tiergateCommunityYearly")
    db.session.commit()
    body = text(http_client(demo_app).get("/pricing?interval=year"))
    assert price_of(body, "community").endswith('data-price-source="whop">$90/yr</p>')
    assert "or $9/mo billed monthly" in tier_section(body, "community")


def test_the_plan_at_the_other_interval_is_offered_as_a_billing_switch(demo_app) -> None:
    acme = make_account("acme", owner="owner@acme.test")
    subscribe(acme, "pro", period_end=utcnow() + timedelta(days=20), billing_interval="month")
    client = http_client(demo_app)
    log_in(client, "owner@acme.test")
    monthly = tier_section(text(client.get("/pricing")), "pro")
    assert "Current plan" in monthly and "<button" not in monthly
    yearly = tier_section(text(client.get("/pricing?interval=year")), "pro")
    assert "Switch to yearly billing" in yearly
    assert interval_of_form(yearly) == "year"


def test_a_trial_is_promised_only_where_checkout_would_give_it(demo_app) -> None:
    from tiergate.catalog import services as catalog

    catalog.update_tier("community", trial_days=7)  # a Whop tier: its checkout takes no trial
    db.session.commit()
    anonymous = text(http_client(demo_app).get("/pricing"))
    assert "14-day free trial" in tier_section(anonymous, "pro")
    assert "free trial" not in tier_section(anonymous, "community")

    fresh = make_account("fresh", owner="owner@fresh.test")
    client = http_client(demo_app)
    log_in(client, "owner@fresh.test")
    assert "14-day free trial" in tier_section(text(client.get("/pricing")), "pro")

    subscribe(fresh, "team", status="canceled")  # had a paid subscription once: no new trial
    body = text(client.get("/pricing"))
    assert "free trial" not in tier_section(body, "pro")

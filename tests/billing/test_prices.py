"""Provider prices for the pricing page: the real SDKs over recording fake transports."""

from __future__ import annotations

import logging
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from tiergate.billing.price_format import format_price, major_amount, whop_interval
from tiergate.billing.prices import (
    FAILURE_TTL_SECONDS,
    PRICES_TTL_SECONDS,
    DisplayPrice,
    display_prices,
    price_cache,
)
from tiergate.billing.providers.sandbox import whop_objects
from tiergate.catalog import services as catalog
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ..accounts.factories import make_catalog
from .price_fakes import WHOP_PLANS, price_list, stripe_price, use_fake_providers
from .providers.fakes import FakeApi, query


def whop_plan(**changes) -> dict:
    tier = db.session.scalars(sa.select(SubscriptionTier).filter_by(key="enterprise")).one()
    return {**whop_objects.plan(tier, "https://whop.test/p"), **changes}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stripe_api(app) -> FakeApi:
    make_catalog()
    api = FakeApi()
    api.on(
        "GET",
        "/v1/prices",
        200,
        price_list(
            stripe_price("pro_monthly", 1900), stripe_price("team_monthly", 19000, "eur", "year")
        ),
    )
    return api


@pytest.fixture
def whop_api(stripe_api) -> FakeApi:
    api = FakeApi()
    api.on("GET", WHOP_PLANS, 200, whop_objects.page([whop_plan(renewal_price=99.0)], None))
    return api


@pytest.fixture
def clock(app) -> Clock:
    fake = Clock()
    price_cache().clock = fake
    return fake


@pytest.fixture
def keys() -> dict[str, str | None]:
    """The API keys the providers are configured with (None: the provider is disabled)."""
    return {"stripe": "sk_test_123", "whop": "apik_123"}


@pytest.fixture(autouse=True)
def providers(monkeypatch, stripe_api, whop_api, keys, clock) -> None:
    use_fake_providers(monkeypatch, stripe_api, whop_api, keys)


def catalog_tiers() -> list[SubscriptionTier]:
    return list(db.session.scalars(sa.select(SubscriptionTier).order_by(SubscriptionTier.rank)))


def labels(found: dict[str, DisplayPrice | None]) -> dict[str, str | None]:
    return {key: price.label if price else None for key, price in found.items()}


def test_each_sold_tier_gets_its_provider_price(stripe_api, whop_api) -> None:
    found = display_prices(catalog_tiers())

    assert labels(found) == {
        "free": None,  # exempt: the catalog's price is the price
        "pro": "$19/mo",
        "team": "€190/yr",
        "partner": None,  # not customer-facing
        "enterprise": "$99/mo",
        "staff": None,
    }
    assert found["team"] == DisplayPrice("stripe", Decimal(190), "eur", "year", 1, "€190/yr")
    assert found["enterprise"] is not None and found["enterprise"].provider == "whop"
    # One prices.list for every lookup key, active prices only.
    (listing,) = stripe_api.requests
    sent = query(listing)
    assert ("active", "true") in sent
    assert sorted(lookup_keys(listing)) == ["pro_monthly", "team_monthly"]
    assert ("product_ids", "prod_enterprise") in query(whop_api.last("GET", WHOP_PLANS))


def test_zero_decimal_currencies_and_multi_period_intervals(stripe_api) -> None:
    stripe_api.on(
        "GET",
        "/v1/prices",
        200,
        price_list(
            stripe_price("pro_monthly", 2000, "jpy"),
            stripe_price("team_monthly", 4950, "chf", "month", interval_count=3),
        ),
    )
    assert labels(display_prices(catalog_tiers())) | {"enterprise": None} == {
        "free": None,
        "pro": "¥2,000/mo",
        "team": "CHF 49.50 every 3 months",
        "partner": None,
        "enterprise": None,
        "staff": None,
    }


@pytest.mark.parametrize(
    ("amount", "currency", "interval", "count", "label"),
    [
        (Decimal(19), "usd", "month", 1, "$19/mo"),
        (Decimal("9.5"), "usd", "month", 1, "$9.50/mo"),
        (Decimal(190), "EUR", "year", 1, "€190/yr"),
        (Decimal(1200), "gbp", "week", 2, "£1,200 every 2 weeks"),
        (Decimal(49), "usd", None, 1, "$49"),
    ],
)
def test_format_price(amount, currency, interval, count, label) -> None:
    assert format_price(amount, currency, interval, count) == label


def test_minor_units_and_whop_periods() -> None:
    assert major_amount(Decimal(1999), "usd") == Decimal("19.99")
    assert major_amount(Decimal(1999), "JPY") == Decimal(1999)
    assert [whop_interval(days) for days in (30, 365, 90, 7, 1)] == [
        ("month", 1),
        ("year", 1),
        ("month", 3),
        ("week", 1),
        ("day", 1),
    ]


def test_a_lookup_key_without_exactly_one_active_price_keeps_the_fallback(
    stripe_api, caplog
) -> None:
    stripe_api.on(
        "GET",
        "/v1/prices",
        200,
        price_list(
            stripe_price("pro_monthly", 1900),
            stripe_price("pro_monthly", 2100),
            stripe_price("team_monthly", None, billing_scheme="tiered"),
        ),
    )
    with caplog.at_level(logging.WARNING, "tiergate.billing.prices"):
        found = display_prices(catalog_tiers())
    assert (found["pro"], found["team"]) == (None, None)
    assert found["enterprise"] is not None
    assert "2 active prices with lookup key 'pro_monthly'" in caplog.text


def test_more_than_ten_lookup_keys_take_one_call_per_ten(stripe_api) -> None:
    for n in range(11):
        catalog.create_tier(
            f"extra{n}",
            f"Extra {n}",
            billing_provider="stripe",
            stripe_lookup_key=f"extra{n}_monthly",
            rank=40 + n,
        )
    db.session.commit()
    known = [stripe_price("pro_monthly", 1900), stripe_price("extra10_monthly", 500)]

    def answer(request: httpx.Request):  # Stripe filters by the lookup keys asked
        asked = lookup_keys(request)
        return 200, price_list(*(price for price in known if price["lookup_key"] in asked))

    stripe_api.routes[("GET", "/v1/prices")] = answer
    found = labels(display_prices(catalog_tiers()))
    asked = [lookup_keys(request) for request in stripe_api.requests]
    assert [len(keys) for keys in asked] == [10, 3]
    assert sorted(asked[0] + asked[1]) == sorted(
        ["pro_monthly", "team_monthly", *(f"extra{n}_monthly" for n in range(11))]
    )
    assert (found["pro"], found["extra10"], found["team"]) == ("$19/mo", "$5/mo", None)


def lookup_keys(request: httpx.Request) -> list[str]:
    return [value for name, value in query(request) if name.startswith("lookup_keys")]


@pytest.mark.parametrize("failure", ["server error", "unreachable"])
def test_a_failing_provider_leaves_prices_unknown_and_is_not_asked_again_at_once(
    stripe_api, whop_api, clock, caplog, failure
) -> None:
    if failure == "server error":
        stripe_api.on("GET", "/v1/prices", 503, {"error": {"message": "down for maintenance"}})
    else:
        stripe_api.routes[("GET", "/v1/prices")] = _refuse_connection

    with caplog.at_level(logging.WARNING, "tiergate.billing.prices"):
        found = display_prices(catalog_tiers())
    assert (found["pro"], found["team"]) == (None, None)
    assert found["enterprise"] is not None  # Whop still answers
    assert "stripe prices are unknown" in caplog.text
    assert "Stripe is unavailable" in caplog.text

    clock.now += FAILURE_TTL_SECONDS - 1
    display_prices(catalog_tiers())
    assert len(stripe_api.requests) == 1

    stripe_api.on("GET", "/v1/prices", 200, price_list(stripe_price("pro_monthly", 1900)))
    clock.now += 2
    assert labels(display_prices(catalog_tiers()))["pro"] == "$19/mo"
    assert len(stripe_api.requests) == 2


def _refuse_connection(request: httpx.Request):
    raise httpx.ConnectError("connection refused", request=request)


def test_a_whop_server_error_leaves_its_prices_unknown(whop_api) -> None:
    whop_api.on("GET", WHOP_PLANS, 502, {"error": {"message": "bad gateway"}})
    found = display_prices(catalog_tiers())
    assert found["enterprise"] is None
    assert found["pro"] is not None


@pytest.mark.parametrize("disabled", ["stripe", "whop"])
def test_a_disabled_provider_is_not_called(stripe_api, whop_api, keys, disabled) -> None:
    keys[disabled] = None
    found = display_prices(catalog_tiers())
    apis = {"stripe": stripe_api, "whop": whop_api}
    assert apis[disabled].requests == []
    priced = {key for key, price in found.items() if price is not None}
    assert priced == ({"enterprise"} if disabled == "stripe" else {"pro", "team"})


def test_prices_are_cached_until_they_expire(stripe_api, whop_api, clock) -> None:
    first = display_prices(catalog_tiers())
    clock.now += PRICES_TTL_SECONDS - 1
    assert display_prices(catalog_tiers()) == first
    assert (len(stripe_api.requests), len(whop_api.requests)) == (1, 1)

    clock.now += 2
    display_prices(catalog_tiers())
    assert (len(stripe_api.requests), len(whop_api.requests)) == (2, 2)


def test_a_new_lookup_key_in_the_catalog_is_fetched_at_once(stripe_api) -> None:
    display_prices(catalog_tiers())
    catalog.update_tier("team", stripe_lookup_key="team_yearly")
    db.session.commit()
    stripe_api.on(
        "GET", "/v1/prices", 200, price_list(stripe_price("team_yearly", 49000, "usd", "year"))
    )
    assert labels(display_prices(catalog_tiers()))["team"] == "$490/yr"
    assert len(stripe_api.requests) == 2

"""/pricing shows the provider's price, and the catalog's fallback only when that is unknown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.billing.prices import price_cache
from tiergate.catalog.cli import read_catalog
from tiergate.catalog.schemas import parse_yaml
from tiergate.catalog.services import load_catalog
from tiergate.db import db

from ..billing.price_fakes import WHOP_PLANS, price_list, stripe_price, use_fake_providers
from ..billing.providers.fakes import FakeApi
from ..conftest import app_on_copy, http_client
from .support import text

DEMO_PLAN = {
    "id": "plan_community",
    "adaptive_pricing_enabled": False,
    "billing_period": 30,
    "created_at": "2026-01-01T00:00:00Z",
    "currency": "eur",
    "custom_fields": [],
    "formatted_price": "€8 / month",
    "initial_price": 0.0,
    "initial_price_due": {
        "amount": "8.00",
        "currency": "eur",
        "decimals": 2,
        "display_decimals": 2,
    },
    "plan_type": "renewal",
    "product": {"id": "prod_tiergateCommunity", "title": "Community"},
    "purchase_url": "https://whop.test/p",
    "release_method": "buy_now",
    "renewal_price": 8.0,
    "title": "Community",
    "unlimited_stock": True,
    "updated_at": "2026-01-01T00:00:00Z",
    "visibility": "visible",
}
PAGE_INFO = {"has_next_page": False, "has_previous_page": False}


def load_demo_catalog() -> None:
    source, document = read_catalog(None)
    load_catalog(parse_yaml(document, source), source=source)
    db.session.commit()


def price_of(body: str, key: str) -> str:
    """Return the price paragraph of a tier's card."""
    start = body.index(f'id="tier-{key}"')
    start = body.index('<p class="tier-price', start)
    return body[start : body.index("</p>", start) + 4]


@pytest.fixture
def demo_sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path, sqlite_template, "demo", load_demo_catalog, TIERGATE_SANDBOX=True
    )


@pytest.fixture
def stripe_api() -> FakeApi:
    api = FakeApi()
    api.on(
        "GET",
        "/v1/prices",
        200,
        price_list(
            stripe_price("tiergate_pro_monthly", 19000, "eur", "year"),
            stripe_price("tiergate_team_monthly", 4900),
        ),
    )
    return api


@pytest.fixture
def whop_api() -> FakeApi:
    api = FakeApi()
    api.on("GET", WHOP_PLANS, 200, {"data": [DEMO_PLAN], "page_info": PAGE_INFO})
    return api


@pytest.fixture
def keys() -> dict[str, str | None]:
    return {"stripe": "sk_test_123", "whop": "apik_123"}


@pytest.fixture
def demo(app, monkeypatch, stripe_api, whop_api, keys) -> Flask:
    """The demo catalog, sold through both providers on their fake APIs."""
    load_demo_catalog()
    use_fake_providers(monkeypatch, stripe_api, whop_api, keys)
    return app


def test_the_sandbox_serves_the_demo_catalogs_prices(demo_sandbox_app) -> None:
    response = http_client(demo_sandbox_app).get("/pricing")
    assert response.status_code == 200
    body = text(response)
    provider_price = '<p class="tier-price tier-price-provider" data-price-source="{}">{}</p>'
    assert price_of(body, "pro") == provider_price.format("stripe", "$19/mo")
    assert price_of(body, "team") == provider_price.format("stripe", "$49/mo")
    assert price_of(body, "community") == provider_price.format("whop", "$9/mo")
    assert price_of(body, "free") == '<p class="tier-price">$0</p>'  # exempt: the catalog's


def test_the_providers_prices_replace_the_catalogs(demo, client) -> None:
    response = client.get("/pricing")
    assert response.status_code == 200
    body = text(response)
    assert "€190/yr" in price_of(body, "pro") and "$19/mo" not in body
    assert 'data-price-source="stripe">$49/mo<' in price_of(body, "team")
    assert 'data-price-source="whop">€8/mo<' in price_of(body, "community")
    assert price_of(body, "free") == '<p class="tier-price">$0</p>'


def refuse(request: httpx.Request):
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize("failure", ["server error", "unreachable"])
def test_a_failing_price_look_up_shows_the_fallback(demo, client, stripe_api, failure) -> None:
    if failure == "server error":
        stripe_api.on("GET", "/v1/prices", 500, {"error": {"message": "internal error"}})
    else:
        stripe_api.routes[("GET", "/v1/prices")] = refuse

    response = client.get("/pricing")

    assert response.status_code == 200
    body = text(response)
    assert price_of(body, "pro") == '<p class="tier-price">$19/mo</p>'
    assert price_of(body, "team") == '<p class="tier-price">$49/mo</p>'
    assert 'data-price-source="whop">€8/mo<' in price_of(body, "community")
    # The failure is remembered for a while: the next view does not ask Stripe again.
    client.get("/pricing")
    assert len(stripe_api.requests) == 1


def test_an_answer_the_sdk_cannot_read_shows_the_fallback(demo, client, whop_api) -> None:
    plan = {key: value for key, value in DEMO_PLAN.items() if key != "renewal_price"}
    whop_api.on("GET", WHOP_PLANS, 200, {"data": [plan], "page_info": PAGE_INFO})
    response = client.get("/pricing")
    assert response.status_code == 200
    assert price_of(text(response), "community") == '<p class="tier-price">$9/mo</p>'


def test_a_disabled_provider_shows_the_fallback_without_a_call(
    demo, client, stripe_api, whop_api, keys
) -> None:
    keys["stripe"] = keys["whop"] = None
    body = text(client.get("/pricing"))
    assert price_of(body, "pro") == '<p class="tier-price">$19/mo</p>'
    assert price_of(body, "community") == '<p class="tier-price">$9/mo</p>'
    assert stripe_api.requests == [] and whop_api.requests == []


def test_an_unconfigured_app_shows_the_catalogs_prices(app, client) -> None:
    load_demo_catalog()
    body = text(client.get("/pricing"))
    assert price_of(body, "pro") == '<p class="tier-price">$19/mo</p>'
    assert "tier-price-provider" not in body


def test_a_second_view_asks_no_provider(demo, client, stripe_api, whop_api) -> None:
    first = text(client.get("/pricing"))
    second = text(client.get("/pricing"))
    assert first == second
    assert (len(stripe_api.requests), len(whop_api.requests)) == (1, 1)


def test_provider_prices_add_no_sql_queries(demo, client, keys) -> None:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    def queries_of_one_view() -> int:
        statements.clear()
        assert client.get("/pricing").status_code == 200
        return len(statements)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        fetching = queries_of_one_view()
        cached = queries_of_one_view()
        keys["stripe"] = keys["whop"] = None
        price_cache().clear()
        disabled = queries_of_one_view()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert fetching == cached == disabled
    assert disabled > 0

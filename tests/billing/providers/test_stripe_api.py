"""Outbound Stripe calls through the real SDK over a recording fake transport."""

from __future__ import annotations

import pytest

from tiergate.billing.providers import (
    CatalogMismatch,
    ProviderDisabled,
    ProviderError,
    ProviderObjectNotFound,
    ProviderUnavailable,
    get_provider,
)
from tiergate.billing.providers.config import StripeSettings
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.errors import NotFound, ValidationError

from ...accounts.factories import make_account, make_catalog, subscribe
from .fakes import FakeApi, form, query

PRICE = {"id": "price_pro", "object": "price", "active": True, "lookup_key": "pro_monthly"}
SESSION = {"id": "cs_1", "object": "checkout.session", "url": "https://checkout.test/cs_1"}


def prices(*items: dict) -> dict:
    return {"object": "list", "data": list(items), "has_more": False, "url": "/v1/prices"}


@pytest.fixture
def fake() -> FakeApi:
    api = FakeApi()
    api.on("GET", "/v1/prices", 200, prices(PRICE))
    api.on("POST", "/v1/checkout/sessions", 200, SESSION)
    return api


@pytest.fixture
def provider(fake: FakeApi) -> StripeProvider:
    settings = StripeSettings(
        secret_key="sk_test_123",
        webhook_secrets=(),
        api_base="http://stripe.test",
        transport=fake.transport(),
        max_network_retries=0,
    )
    return StripeProvider(settings)


@pytest.fixture
def account(app):
    make_catalog()
    return make_account("acme", owner="owner@acme.test")


def tier(key: str) -> SubscriptionTier:
    return db.session.query(SubscriptionTier).filter_by(key=key).one()


def checkout(provider: StripeProvider, account) -> str:
    return provider.start_checkout(
        account, tier("pro"), success_url="https://app.test/ok", cancel_url="https://app.test/no"
    )


def test_checkout_resolves_the_active_price_and_links_the_account(provider, fake, account) -> None:
    assert checkout(provider, account) == "https://checkout.test/cs_1"

    lookup = fake.last("GET", "/v1/prices")
    assert ("lookup_keys[0]", "pro_monthly") in query(lookup)
    assert ("active", "true") in query(lookup)
    assert lookup.headers["Authorization"] == "Bearer sk_test_123"
    sent = form(fake.last("POST", "/v1/checkout/sessions"))
    assert sent["mode"] == "subscription"
    assert sent["line_items[0][price]"] == "price_pro"
    assert sent["line_items[0][quantity]"] == "1"
    assert sent["client_reference_id"] == str(account.id)
    assert sent["metadata[tiergate_account_id]"] == str(account.id)
    assert sent["metadata[tiergate_tier]"] == "pro"
    assert sent["subscription_data[metadata][tiergate_account_id]"] == str(account.id)
    assert sent["success_url"] == "https://app.test/ok"
    assert sent["cancel_url"] == "https://app.test/no"
    assert sent["customer_email"] == "owner@acme.test"
    assert "customer" not in sent


def test_checkout_reuses_the_accounts_stripe_customer(provider, fake, account) -> None:
    subscribe(account, "team", status="canceled", provider_customer_id="cus_known")
    checkout(provider, account)
    sent = form(fake.last("POST", "/v1/checkout/sessions"))
    assert sent["customer"] == "cus_known"
    assert "customer_email" not in sent


@pytest.mark.parametrize(
    "found", [[], [PRICE, {**PRICE, "id": "price_pro_2"}]], ids=["none", "two"]
)
def test_checkout_needs_exactly_one_active_price(provider, fake, account, found) -> None:
    fake.on("GET", "/v1/prices", 200, prices(*found))
    with pytest.raises(CatalogMismatch, match=f"Stripe has {len(found)} active prices") as caught:
        checkout(provider, account)
    assert caught.value.details["lookup_key"] == "pro_monthly"
    assert not [r for r in fake.requests if r.method == "POST"]


def test_checkout_refuses_a_tier_not_sold_through_stripe(provider, fake, account) -> None:
    with pytest.raises(ValidationError, match="not sold through Stripe"):
        provider.start_checkout(account, tier("enterprise"), success_url="x", cancel_url="y")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            400,
            {"error": {"type": "invalid_request_error", "message": "No such price"}},
            ProviderError,
            "Stripe rejected the request (creating a checkout session): No such price",
        ),
        (
            401,
            {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
            ProviderError,
            "check TIERGATE_STRIPE_SECRET_KEY",
        ),
        (
            500,
            {"error": {"type": "api_error", "message": "boom"}},
            ProviderUnavailable,
            "Stripe is unavailable (creating a checkout session)",
        ),
    ],
    ids=["400", "401", "500"],
)
def test_provider_errors_become_clear_tiergate_errors(
    provider, fake, account, status, body, error, message
) -> None:
    fake.on("POST", "/v1/checkout/sessions", status, body)
    with pytest.raises(error) as caught:
        checkout(provider, account)
    assert message in caught.value.message
    assert caught.value.details["provider_status"] == status
    assert caught.value.status == (503 if status >= 500 else 502)


def test_fetching_an_unknown_subscription_is_not_found(provider, fake, app) -> None:
    fake.on(
        "GET",
        "/v1/subscriptions/sub_gone",
        404,
        {"error": {"type": "invalid_request_error", "message": "No such subscription"}},
    )
    with pytest.raises(ProviderObjectNotFound, match="No such subscription") as caught:
        provider.fetch_subscription("sub_gone")
    assert caught.value.status == 404


def test_portal_session_for_the_accounts_customer(provider, fake, account) -> None:
    subscribe(account, "pro", provider_customer_id="cus_known")
    fake.on(
        "POST",
        "/v1/billing_portal/sessions",
        200,
        {"id": "bps_1", "object": "billing_portal.session", "url": "https://portal.test/1"},
    )
    assert provider.portal_url(account, return_url="https://app.test/account") == (
        "https://portal.test/1"
    )
    sent = form(fake.last("POST", "/v1/billing_portal/sessions"))
    assert sent == {"customer": "cus_known", "return_url": "https://app.test/account"}


def test_portal_needs_a_customer(provider, fake, account) -> None:
    with pytest.raises(NotFound, match="no Stripe customer yet"):
        provider.portal_url(account, return_url="https://app.test/account")
    assert fake.requests == []


def test_unconfigured_stripe_is_disabled_with_a_clear_message(account) -> None:
    provider = get_provider("stripe")
    with pytest.raises(ProviderDisabled) as caught:
        checkout(provider, account)
    assert caught.value.status == 503
    assert caught.value.to_dict() == {
        "error": "provider_disabled",
        "message": "Stripe is not configured: set TIERGATE_STRIPE_SECRET_KEY",
        "provider": "stripe",
    }

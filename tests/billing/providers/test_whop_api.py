"""Outbound Whop calls through the real SDK over a recording fake transport."""

from __future__ import annotations

import pytest

from tiergate.billing.providers import (
    CatalogMismatch,
    InvalidLicenseKey,
    ProviderDisabled,
    ProviderError,
    ProviderUnavailable,
    get_provider,
)
from tiergate.billing.providers.config import (
    DEFAULT_WHOP_API_VERSION_DATE,
    WhopSettings,
    whop_settings,
)
from tiergate.billing.providers.sandbox import whop_objects
from tiergate.billing.providers.whop import WhopProvider
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog
from .fakes import FakeApi, json_body, query

API = "/api/v1"


def tier(key: str) -> SubscriptionTier:
    return db.session.query(SubscriptionTier).filter_by(key=key).one()


def plan(**changes) -> dict:
    return {**whop_objects.plan(tier("enterprise"), "https://whop.test/p"), **changes}


def membership(**changes) -> dict:
    configuration = {"plan_id": "plan_1", "metadata": {}}
    data = whop_objects.membership(configuration, "user_1", tier("enterprise"), trial=False)
    return {**data, "id": "mem_1", "license_key": "LK-1", **changes}


@pytest.fixture
def account(app):
    make_catalog()
    return make_account("acme", owner="owner@acme.test")


@pytest.fixture
def fake(account) -> FakeApi:
    api = FakeApi()
    api.on("GET", f"{API}/plans", 200, whop_objects.page([plan()], None))
    api.on(
        "POST",
        f"{API}/checkout_configurations",
        200,
        {
            "id": "ch_1",
            "account_id": "biz_1",
            "created_at": "2026-01-01T00:00:00Z",
            "mode": "payment",
            "purchase_url": "https://whop.test/checkout/ch_1",
            "updated_at": "2026-01-01T00:00:00Z",
        },
    )
    api.on("GET", f"{API}/memberships/LK-1", 200, membership())
    return api


@pytest.fixture
def provider(fake: FakeApi) -> WhopProvider:
    settings = WhopSettings(
        api_key="apik_123",
        webhook_secrets=(),
        api_base="http://whop.test/api/v1",
        company_id="biz_1",
        transport=fake.transport(),
        max_retries=0,
    )
    return WhopProvider(settings)


def test_purchase_link_carries_the_account_reference(provider, fake, account) -> None:
    url = provider.start_checkout(
        account, tier("enterprise"), success_url="https://app.test/ok", cancel_url="x"
    )
    assert url == "https://whop.test/checkout/ch_1"
    listing = fake.last("GET", f"{API}/plans")
    assert ("product_ids", "prod_enterprise") in query(listing)
    assert ("account_id", "biz_1") in query(listing)
    assert listing.headers["Authorization"] == "Bearer apik_123"
    sent = json_body(fake.last("POST", f"{API}/checkout_configurations"))
    assert sent["plan_id"] == plan()["id"]
    assert sent["metadata"] == {
        "tiergate_account_id": str(account.id),
        "tiergate_tier": "enterprise",
    }
    assert sent["redirect_url"] == "https://app.test/ok"


def test_purchase_link_needs_exactly_one_visible_plan(provider, fake, account) -> None:
    fake.on(
        "GET",
        f"{API}/plans",
        200,
        whop_objects.page(
            [plan(), plan(id="plan_2"), plan(id="plan_3", visibility="hidden")], None
        ),
    )
    with pytest.raises(CatalogMismatch, match="has 2 visible plans"):
        provider.start_checkout(account, tier("enterprise"), success_url="x", cancel_url="y")


def test_license_key_attaches_an_active_membership(provider, account) -> None:
    state = provider.attach_license_key(account, " LK-1 ", tier=tier("enterprise"))
    assert (state.provider, state.provider_subscription_id) == ("whop", "mem_1")
    assert state.account_id == account.id
    assert state.tier == tier("enterprise").id
    assert state.status == "active"
    assert state.provider_customer_id == "user_1"


@pytest.mark.parametrize("status", ["expired", "canceled", "past_due", "drafted"])
def test_license_key_of_an_inactive_membership_is_refused(provider, fake, account, status) -> None:
    fake.on("GET", f"{API}/memberships/LK-1", 200, membership(status=status))
    with pytest.raises(InvalidLicenseKey, match=f"is {status}, not active"):
        provider.attach_license_key(account, "LK-1")


def test_license_key_for_another_product_is_refused(provider, fake, account) -> None:
    other = {"id": "prod_other", "title": "Other"}
    fake.on(
        "GET", f"{API}/memberships/LK-1", 200, membership(product=other, product_id="prod_other")
    )
    with pytest.raises(InvalidLicenseKey, match="for Whop product 'prod_other', not for tier"):
        provider.attach_license_key(account, "LK-1", tier=tier("enterprise"))


def test_unknown_license_key_is_refused(provider, account) -> None:
    with pytest.raises(InvalidLicenseKey, match="no membership with this license key"):
        provider.attach_license_key(account, "LK-unknown")


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (
            400,
            ProviderError,
            "Whop rejected the request (creating a checkout configuration): bad plan",
        ),
        (403, ProviderError, "check TIERGATE_WHOP_API_KEY"),
        (503, ProviderUnavailable, "Whop is unavailable (creating a checkout configuration)"),
    ],
)
def test_provider_errors_become_clear_tiergate_errors(
    provider, fake, account, status, error, message
):
    fake.on("POST", f"{API}/checkout_configurations", status, {"error": {"message": "bad plan"}})
    with pytest.raises(error) as caught:
        provider.start_checkout(account, tier("enterprise"), success_url="x", cancel_url="y")
    assert message in caught.value.message
    assert caught.value.details["provider_status"] == status


def test_an_answer_the_sdk_cannot_read_is_a_clear_provider_error(provider, fake, account):
    fake.on("POST", f"{API}/checkout_configurations", 200, {"id": 5, "unexpected": True})
    with pytest.raises(ProviderError, match=r"Whop sent an answer tiergate cannot read \(creating"):
        provider.start_checkout(account, tier("enterprise"), success_url="x", cancel_url="y")


def test_unconfigured_whop_is_disabled_with_a_clear_message(account) -> None:
    with pytest.raises(ProviderDisabled, match="Whop is not configured: set TIERGATE_WHOP_API_KEY"):
        get_provider("whop").attach_license_key(account, "LK-1")


def test_outbound_calls_pin_the_api_version_date(provider, fake, account) -> None:
    provider.attach_license_key(account, "LK-1")
    provider.list_prices(("prod_enterprise",))
    for path in (f"{API}/memberships/LK-1", f"{API}/plans"):
        assert fake.last("GET", path).headers["Api-Version-Date"] == "2026-10-15-1"


def test_the_api_version_date_is_a_setting(app, fake, account) -> None:
    assert whop_settings().api_version_date == DEFAULT_WHOP_API_VERSION_DATE == "2026-10-15-1"
    app.config["TIERGATE_WHOP_API_VERSION_DATE"] = "2027-01-15"
    assert whop_settings().api_version_date == "2027-01-15"
    app.config["TIERGATE_WHOP_API_VERSION_DATE"] = ""
    assert whop_settings().api_version_date is None
    for version in ("2027-01-15", None):
        settings = WhopSettings(
            api_key="apik_123",
            webhook_secrets=(),
            api_base="http://whop.test/api/v1",
            transport=fake.transport(),
            max_retries=0,
            api_version_date=version,
        )
        WhopProvider(settings).attach_license_key(account, "LK-1")
        sent = fake.last("GET", f"{API}/memberships/LK-1")
        assert sent.headers.get("Api-Version-Date") == version


def test_a_completed_lifetime_license_key_attaches_unless_no_longer_valid(
    provider, fake, account
) -> None:
    lifetime = membership(status="completed", current_period_end=None, renewal_price=None)
    fake.on("GET", f"{API}/memberships/LK-1", 200, lifetime)
    state = provider.attach_license_key(account, "LK-1", tier=tier("enterprise"))
    assert (state.status, state.billing_interval) == ("active", "once")
    fake.on("GET", f"{API}/memberships/LK-1", 200, {**lifetime, "valid": False})
    with pytest.raises(InvalidLicenseKey, match="is completed, not active"):
        provider.attach_license_key(account, "LK-1")

"""Provider payloads (Stripe's current API shape, Whop's nested and flat shapes) to states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tiergate.audit.services import Actor
from tiergate.billing.models import Subscription
from tiergate.billing.providers import Event, UnknownAccount, UnknownTier
from tiergate.billing.providers.config import StripeSettings, WhopSettings
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.providers.whop import WhopProvider
from tiergate.billing.providers.whop_mapping import STATUS_MAP
from tiergate.billing.services import apply_subscription_state
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog, subscribe

CREATED = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
PERIOD_END = 1772611200  # 2026-03-04T08:00:00Z

STRIPE = StripeProvider(StripeSettings(secret_key=None, webhook_secrets=("whsec_x",)))
WHOP = WhopProvider(WhopSettings(api_key=None, webhook_secrets=("ws_x",)))


@pytest.fixture
def account(app):
    make_catalog()
    return make_account("acme")


def tier_id(key: str) -> int:
    return db.session.query(SubscriptionTier).filter_by(key=key).one().id


def stripe_subscription(account_ref, *, lookup_key="pro_monthly", **changes) -> dict:
    """A subscription as the current Stripe API sends it: the period lives on the item."""
    return {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_1",
        "status": "active",
        "cancel_at_period_end": False,
        "trial_end": None,
        "metadata": {"tiergate_account_id": str(account_ref)} if account_ref else {},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_1",
                    "object": "subscription_item",
                    "current_period_start": PERIOD_END - 2592000,
                    "current_period_end": PERIOD_END,
                    "price": {"id": "price_1", "object": "price", "lookup_key": lookup_key},
                }
            ],
        },
        **changes,
    }


def stripe_event(event_type: str, data: dict) -> Event:
    return Event("stripe", "evt_1", event_type, CREATED, data, {"data": {"object": data}})


def test_stripe_subscription_maps_to_a_state(account) -> None:
    event = stripe_event("customer.subscription.updated", stripe_subscription(account.id))
    [state] = STRIPE.states_from_event(event)
    assert state.provider == "stripe"
    assert state.provider_subscription_id == "sub_1"
    assert state.provider_customer_id == "cus_1"
    assert state.account_id == account.id
    assert state.tier == tier_id("pro")
    assert state.status == "active"
    assert state.current_period_end == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    assert state.provider_updated_at == CREATED
    result = apply_subscription_state(state, actor=Actor.provider("stripe", "evt_1"))
    assert result.subscription.tier.key == "pro"


@pytest.mark.parametrize(
    ("status", "stored"),
    [
        ("past_due", "past_due"),
        ("paused", "paused"),
        ("incomplete_expired", "expired"),
        ("trialing", "trialing"),
    ],
)
def test_stripe_statuses_are_kept(account, status, stored) -> None:
    event = stripe_event(
        "customer.subscription.updated", stripe_subscription(account.id, status=status)
    )
    [state] = STRIPE.states_from_event(event)
    assert state.status == stored


def test_stripe_account_from_a_known_customer(account) -> None:
    subscribe(account, "team", provider_customer_id="cus_1", subscription_id="sub_old")
    event = stripe_event("customer.subscription.created", stripe_subscription(None))
    [state] = STRIPE.states_from_event(event)
    assert state.account_id == account.id


def test_stripe_subscription_of_no_account_is_an_error(account) -> None:
    event = stripe_event("customer.subscription.created", stripe_subscription(None))
    with pytest.raises(UnknownAccount, match="names no tiergate account"):
        STRIPE.states_from_event(event)


def test_stripe_unknown_price_is_an_unknown_tier(account) -> None:
    event = stripe_event(
        "customer.subscription.updated", stripe_subscription(account.id, lookup_key="gold")
    )
    with pytest.raises(
        UnknownTier, match="no tier has the Stripe price lookup key 'gold'"
    ) as caught:
        STRIPE.states_from_event(event)
    assert caught.value.code == "unknown_tier"


def test_stripe_invoice_names_its_subscription_under_parent(account) -> None:
    from tiergate.billing.providers.stripe_mapping import subscription_id_of

    invoice = {
        "id": "in_1",
        "object": "invoice",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_9", "metadata": {}},
        },
    }
    assert subscription_id_of(stripe_event("invoice.payment_failed", invoice)) == "sub_9"
    # Without the API an invoice carries no subscription state: nothing to apply.
    assert STRIPE.states_from_event(stripe_event("invoice.payment_failed", invoice)) == []


def test_stripe_unhandled_event_types_carry_no_state(account) -> None:
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert STRIPE.states_from_event(event) == []


def whop_membership(account_ref, shape: str, **changes) -> dict:
    common = {
        "id": "mem_1",
        "status": "active",
        "cancel_at_period_end": False,
        "current_period_end": "2026-03-04T08:00:00.000Z",
        "metadata": {"tiergate_account_id": str(account_ref)},
    }
    if shape == "nested":
        common.update(
            product={"id": "prod_enterprise", "title": "Enterprise"},
            user={"id": "user_1", "username": "buyer"},
        )
    else:
        common.update(product_id="prod_enterprise", user_id="user_1")
    return {**common, **changes}


def whop_event(event_type: str, data: dict) -> Event:
    return Event("whop", "msg_1", event_type, CREATED, data, {"data": data})


@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_whop_membership_maps_in_both_payload_shapes(account, shape) -> None:
    [state] = WHOP.states_from_event(
        whop_event("membership.activated", whop_membership(account.id, shape))
    )
    assert (state.provider, state.provider_subscription_id) == ("whop", "mem_1")
    assert state.account_id == account.id
    assert state.tier == tier_id("enterprise")
    assert state.provider_customer_id == "user_1"
    assert state.status == "active"
    assert state.current_period_end == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    assert state.provider_updated_at == CREATED
    apply_subscription_state(state, actor=Actor.provider("whop", "msg_1"))
    assert db.session.query(Subscription).filter_by(provider="whop").one().tier.key == "enterprise"


@pytest.mark.parametrize(
    ("whop_status", "status", "cancels"),
    [
        ("trialing", "trialing", False),
        ("active", "active", False),
        ("canceling", "active", True),
        ("past_due", "past_due", False),
        ("unresolved", "unpaid", False),
        # A completed one-time purchase keeps access; with a period end it stops there.
        ("completed", "active", True),
        ("expired", "expired", False),
        ("canceled", "canceled", False),
        ("drafted", "incomplete", False),
    ],
)
def test_whop_statuses_are_normalised(account, whop_status, status, cancels) -> None:
    data = whop_membership(account.id, "flat", status=whop_status)
    [state] = WHOP.states_from_event(whop_event("membership.updated", data))
    assert (state.status, state.cancel_at_period_end) == (status, cancels)
    assert set(STATUS_MAP) == {
        "trialing",
        "active",
        "past_due",
        "completed",
        "canceled",
        "expired",
        "unresolved",
        "drafted",
        "canceling",
    }


def test_whop_unknown_product_is_an_unknown_tier(account) -> None:
    data = whop_membership(account.id, "flat", product_id="prod_gold")
    with pytest.raises(UnknownTier, match="no tier has the Whop product 'prod_gold'"):
        WHOP.states_from_event(whop_event("membership.activated", data))


def test_whop_payment_names_its_membership_but_carries_no_state_without_the_api(account) -> None:
    from tiergate.billing.providers.whop_mapping import membership_id_of

    for payment in (
        {"id": "pay_1", "membership": {"id": "mem_1"}},
        {"id": "pay_1", "membership_id": "mem_1"},
    ):
        event = whop_event("payment.failed", payment)
        assert membership_id_of(event) == "mem_1"
        assert WHOP.states_from_event(event) == []

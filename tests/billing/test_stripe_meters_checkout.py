"""Checkout with metered prices: each a line item without a quantity, beside the plan."""

from __future__ import annotations

import pytest

from tiergate.billing.providers import CatalogMismatch
from tiergate.billing.providers.sandbox import store
from tiergate.billing.providers.sandbox.stripe_metered import meter_id
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db
from tiergate.errors import ValidationError

from . import test_stripe_meters as base
from .test_stripe_meters import pay, stripe, subscription

# The reporting tests' fixtures: the sandbox app with metered prices, its account and inbox.
sandbox_app = base.sandbox_app  # account and inbox: tests/billing/conftest.py


def test_checkout_adds_metered_prices_without_quantity(sandbox_app, account, inbox) -> None:
    pay(sandbox_app, account, "api_calls_metered", "exports_metered")

    stored = subscription()
    assert (stored.tier.key, stored.status, stored.quantity) == ("pro", "active", 1)
    db.session.rollback()
    [row] = store.list_objects("stripe", "subscription")
    plan, calls, exports = row.data["items"]["data"]
    assert plan["price"]["lookup_key"] == "pro_monthly"
    assert plan["quantity"] == 1
    for item, key, meter_event in (
        (calls, "api_calls_metered", "api_call"),
        (exports, "exports_metered", "export"),
    ):
        assert item["price"]["lookup_key"] == key
        assert item["price"]["recurring"]["usage_type"] == "metered"
        assert item["price"]["recurring"]["meter"] == meter_id(meter_event)
        assert "quantity" not in item
    [session] = [r.data for r in store.list_objects("stripe", "checkout_session")]
    assert session["_metered_prices"] == [calls["price"]["id"], exports["price"]["id"]]


def test_checkout_without_metered_prices_sells_the_plan_alone(sandbox_app, account, inbox) -> None:
    pay(sandbox_app, account)
    db.session.rollback()
    [row] = store.list_objects("stripe", "subscription")
    assert [item["price"]["lookup_key"] for item in row.data["items"]["data"]] == ["pro_monthly"]


def test_checkout_refuses_a_price_that_is_not_metered(sandbox_app, account) -> None:
    with pytest.raises(CatalogMismatch, match="is not metered"):
        stripe().start_checkout(
            account,
            tier("pro"),
            success_url="/",
            cancel_url="/",
            metered_price_lookup_keys=["team_monthly"],
        )
    for keys in (["api_calls_metered", "api_calls_metered"], "api_calls_metered", [""], [None]):
        with pytest.raises(ValidationError, match="without repeats"):
            stripe().start_checkout(
                account,
                tier("pro"),
                success_url="/",
                cancel_url="/",
                metered_price_lookup_keys=keys,
            )
    with pytest.raises(CatalogMismatch, match="0 active prices"):
        stripe().start_checkout(
            account,
            tier("pro"),
            success_url="/",
            cancel_url="/",
            metered_price_lookup_keys=["nope"],
        )
    db.session.rollback()
    assert store.list_objects("stripe", "checkout_session") == []


def test_the_sandbox_refuses_a_quantity_for_a_metered_price(sandbox_app, account) -> None:
    form = {
        "mode": "subscription",
        "line_items[0][price]": "price_sbx_pro_monthly",
        "line_items[0][quantity]": "1",
        "line_items[1][price]": "price_sbx_api_calls_metered",
        "line_items[1][quantity]": "1",
        "success_url": "http://tiergate.test/ok",
    }
    answer = sandbox_app.test_client().post(
        "/_sandbox/stripe/v1/checkout/sessions",
        data=form,
        headers={"Authorization": "Bearer sk_test_tiergate_sandbox"},
    )
    assert answer.status_code == 400
    assert answer.json["error"]["param"] == "line_items[1][quantity]"
    assert (
        "Quantity should not be specified where usage_type is `metered`"
        in (answer.json["error"]["message"])
    )
    db.session.rollback()
    assert store.list_objects("stripe", "checkout_session") == []

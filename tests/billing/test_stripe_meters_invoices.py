"""The sandbox bills reported usage: invoice usage lines, the upcoming invoice, its setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tiergate.billing.providers.sandbox import store, stripe_metered
from tiergate.db import db
from tiergate.errors import ConfigurationError

from . import test_stripe_meters as base
from .test_stripe_meters import meter_events, pay, stripe, subscription, summed, usage

# The reporting tests' fixtures: the sandbox app with metered prices, its account and inbox.
sandbox_app = base.sandbox_app  # account and inbox: tests/billing/conftest.py


def test_the_renewal_invoice_bills_the_usage(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered", "exports_metered")
    stripe().report_meter_events(
        [
            usage("u-1", customer, 1200),
            usage("u-2", customer, 33),
            usage("u-3", customer, 4, event_name="export"),
        ]
    )
    result = sandbox_app.test_cli_runner().invoke(
        args=["sandbox", "advance", "acme", "--to", "renewed"]
    )
    assert result.exit_code == 0, result.output

    db.session.rollback()
    first, renewal = (row.data for row in store.list_objects("stripe", "invoice"))
    assert [line["quantity"] for line in first["lines"]["data"]] == [1, 0, 0]
    plan, calls, exports = renewal["lines"]["data"]
    assert (calls["quantity"], calls["amount"]) == (1233, 617)  # 1233 x 0.5 cents, rounded
    assert (exports["quantity"], exports["amount"]) == (4, 12)
    assert (plan["quantity"], plan["amount"]) == (1, 1900)
    assert renewal["total"] == renewal["amount_paid"] == 1900 + 617 + 12
    assert calls["pricing"]["unit_amount_decimal"] == "0.5"
    # The usage lines cover the time since the first invoice; the plan line its new period.
    assert calls["period"] == exports["period"]
    assert calls["period"]["start"] == first["created"] <= calls["period"]["end"]
    assert plan["period"]["start"] >= calls["period"]["end"]

    page = sandbox_app.test_client().get(f"/_sandbox/stripe/invoices/{renewal['id']}")
    assert page.status_code == 200
    assert b"1233 \xc3\x97 api_call" in page.data and b"$6.17" in page.data
    assert b"$25.29" in page.data

    # Usage already billed is not billed again.
    sandbox_app.test_cli_runner().invoke(args=["sandbox", "advance", "acme", "--to", "renewed"])
    db.session.rollback()
    latest = store.list_objects("stripe", "invoice")[-1].data
    assert [line["quantity"] for line in latest["lines"]["data"]] == [1, 0, 0]


def test_the_upcoming_invoice_shows_the_usage_so_far(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    stripe().report_meter_events([usage("u-1", customer, 40), usage("u-2", customer, 3)])
    subscription_id = subscription().provider_subscription_id

    preview = stripe().client.v1.invoices.create_preview(params={"subscription": subscription_id})

    usage_lines = [
        line
        for line in preview.lines.data
        if line.pricing.price_details.price == "price_sbx_api_calls_metered"
    ]
    assert [(line.quantity, line.amount) for line in usage_lines] == [(43, 22)]
    assert preview.billing_reason == "upcoming"
    assert preview.total == sum(line.amount for line in preview.lines.data)


def test_events_stripe_would_reject_later_count_nothing(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    stripe().report_meter_events(
        [
            usage("no-meter", customer, 5, event_name="nobody_meters_this"),
            usage("stranger", "cus_unknown", 5),
            usage("old", customer, 5, timestamp=datetime.now(UTC) - timedelta(days=36)),
            usage("ok", customer, 5),
        ]
    )
    errors = {event["identifier"]: event["_error"] for event in meter_events()}
    assert errors == {
        "no-meter": "no_meter",
        "stranger": "meter_event_customer_not_found",
        "old": "timestamp_too_far_in_past",
        "ok": None,
    }
    assert summed(customer) == 5


@pytest.mark.parametrize(
    "setting", ["api_calls_metered", "a:b:c", "a::1", "a:b:-1", "a:b:NaN", "a:b:1:2"]
)
def test_a_malformed_metered_price_setting_is_named(sandbox_app, setting) -> None:
    sandbox_app.config["TIERGATE_SANDBOX_STRIPE_METERED_PRICES"] = f"ok:fine:1,{setting}"
    with pytest.raises(ConfigurationError, match=f"{setting!r} is not lookup_key:event_name"):
        stripe_metered.configured()

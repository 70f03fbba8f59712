"""The sandbox's usage-based billing objects have Stripe's published shapes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import current_app

from tiergate.billing.providers.sandbox import store

from . import test_stripe_meters as base
from .fixtures.stripe import published
from .test_stripe_meters import pay, stripe, usage

# The reporting tests' fixtures: the sandbox app with metered prices, its account and inbox.
sandbox_app = base.sandbox_app  # account and inbox: tests/billing/conftest.py


def keys(obj: dict[str, Any]) -> set[str]:
    return set(obj)


@pytest.fixture
def reported(sandbox_app, account, inbox) -> str:
    """Buy Pro with metered API calls, report 25 calls, and return the Stripe customer."""
    customer = pay(sandbox_app, account, "api_calls_metered")
    stripe().report_meter_events([usage("u-1", customer, 25)])
    return customer


def test_meters_and_metered_prices_have_the_published_keys(reported) -> None:
    client = stripe().client
    [meter, _] = client.v1.billing.meters.list().data
    published_meter = published("billing_meter")
    assert keys(meter.to_dict()) == keys(published_meter)
    assert meter.object == published_meter["object"] == "billing.meter"
    assert keys(meter.to_dict()["customer_mapping"]) == keys(published_meter["customer_mapping"])

    [price] = client.v1.prices.list(params={"lookup_keys": ["api_calls_metered"]}).data
    published_price = published("price.current")
    assert keys(price.to_dict()) == keys(published_price)
    assert keys(price.to_dict()["recurring"]) == keys(published_price["recurring"])
    assert (price.recurring.usage_type, price.recurring.meter) == ("metered", meter.id)


def test_a_meter_event_and_its_summary_have_the_published_keys(reported) -> None:
    client = stripe().client
    event = client.v1.billing.meter_events.create(
        params={
            "event_name": "api_call",
            "identifier": "u-2",
            "payload": {"stripe_customer_id": reported, "value": "5"},
        }
    )
    assert keys(event.to_dict()) == keys(published("billing_meter_event"))
    assert event.object == "billing.meter_event"

    meter = client.v1.billing.meters.list().data[0]
    now = store.now() // 60 * 60
    [summary] = client.v1.billing.meters.event_summaries.list(
        meter.id, params={"customer": reported, "start_time": now - 3600, "end_time": now + 60}
    ).data
    assert keys(summary.to_dict()) == keys(published("billing_meter_event_summary"))
    assert summary.aggregated_value == 30


def test_invoice_lines_have_the_published_keys(reported) -> None:
    current_app.test_cli_runner().invoke(args=["sandbox", "advance", "acme", "--to", "renewed"])
    invoices = stripe().client.v1.invoices.list(params={"customer": reported}).data
    lines = invoices[0].to_dict()["lines"]["data"]
    published_line = published("line_item.current")
    for line in lines:
        assert keys(line) == keys(published_line)
        assert keys(line["pricing"]) >= keys(published_line["pricing"])
    assert [line["quantity"] for line in lines] == [1, 25]

"""Plan changes of a subscription with metered prices: the plan changes, its usage billing stays."""

from __future__ import annotations

from typing import Any

import pytest
from flask import current_app

from tiergate.billing.providers.sandbox import store
from tiergate.billing.providers.sandbox.changes import requests_received

from . import test_stripe_meters as base
from .test_stripe_meters import pay, stripe, subscription, usage

# The reporting tests' fixtures: the sandbox app with metered prices, its account and inbox.
sandbox_app = base.sandbox_app  # account and inbox: tests/billing/conftest.py
METERED_KEYS = ["api_calls_metered", "exports_metered"]


@pytest.fixture
def metered(sandbox_app, account, inbox) -> str:
    """Buy Pro with two metered prices; return the Stripe subscription id."""
    pay(sandbox_app, account, *METERED_KEYS)
    return subscription().provider_subscription_id


def items() -> list[dict[str, Any]]:
    """The sandbox subscription's items: (lookup key, quantity or None)."""
    [row] = store.list_objects("stripe", "subscription")
    return [
        (item["price"]["lookup_key"], item.get("quantity")) for item in row.data["items"]["data"]
    ]


def test_the_state_reads_the_plan_item(metered) -> None:
    state = stripe().fetch_subscription(metered)
    assert (state.quantity, state.billing_interval) == (1, "month")
    assert state.scheduled_tier_id is None


def test_a_swap_changes_the_plan_and_keeps_the_metered_items(metered) -> None:
    provider = stripe()
    preview = provider.preview_change(
        metered, "team_monthly", proration_behavior="create_prorations", quantity=1
    )
    assert preview.currency == "usd"

    state = provider.change_price(
        metered,
        "team_monthly",
        proration_behavior="create_prorations",
        idempotency_key="swap-1",
        metadata={},
        quantity=1,
    )
    assert state.quantity == 1
    assert items() == [("team_monthly", 1), ("api_calls_metered", None), ("exports_metered", None)]
    [swap] = requests_received("stripe", f"/subscriptions/{metered}")
    assert [item.get("quantity") for item in swap["params"]["items"]] == ["1"]


def test_a_scheduled_change_carries_the_metered_prices_into_the_next_phase(metered) -> None:
    provider = stripe()
    customer = subscription().provider_customer_id
    state = provider.schedule_change(metered, "team_monthly", idempotency_key="down-1", quantity=1)
    assert state.scheduled_tier_id is not None

    [phases] = [
        r["params"]["phases"]
        for r in requests_received("stripe", "/subscription_schedules/")
        if "phases" in r["params"]
    ]
    metered_ids = {f"price_sbx_{key}" for key in METERED_KEYS}
    for phase in phases:
        plan, *rest = phase["items"]
        assert "quantity" in plan
        assert {item["price"] for item in rest} == metered_ids
        assert all("quantity" not in item for item in rest)

    provider.report_meter_events([usage("u-1", customer, 10)])
    result = current_app.test_cli_runner().invoke(
        args=["sandbox", "advance", "acme", "--to", "renewed"]
    )
    assert result.exit_code == 0, result.output
    assert items() == [("team_monthly", 1), ("api_calls_metered", None), ("exports_metered", None)]
    assert subscription().tier.key == "team"

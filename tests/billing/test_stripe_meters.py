"""Usage-based billing: the real Stripe SDK reporting meter events to the sandbox's Stripe."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account
from tiergate.billing.models import Subscription
from tiergate.billing.providers import (
    CatalogMismatch,
    MeteringNotSupported,
    ProviderError,
    ProviderUnavailable,
    get_metering_provider,
    get_provider,
)
from tiergate.billing.providers.config import stripe_settings
from tiergate.billing.providers.sandbox import deliver, pages, store, stripe_metered
from tiergate.billing.providers.sandbox.stripe_metered import meter_id
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.providers.stripe_meters import MeterUsage
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db
from tiergate.errors import ConfigurationError, ValidationError

from ..accounts.factories import make_account, make_catalog
from ..conftest import app_on_copy
from .sandbox.inbox import Inbox

PUBLIC_URL = "http://tiergate.test"
#: Half a cent per API call, and a whole-cent price per export.
METERED = "api_calls_metered:api_call:0.5,exports_metered:export:3"
HOUR = 3600


def priced_catalog() -> None:
    """The test catalog, with Pro at $19 a month (the sandbox prices it from fallback_price)."""
    make_catalog()
    tier("pro").fallback_price = "$19"
    db.session.commit()


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "meters",
        priced_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
        TIERGATE_SANDBOX_STRIPE_METERED_PRICES=METERED,
    )


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Inbox:
    receiver = Inbox()
    monkeypatch.setattr(pages, "deliver_all", receiver.deliver_all)
    monkeypatch.setattr(deliver, "deliver_all", receiver.deliver_all)
    return receiver


@pytest.fixture
def account(sandbox_app: Flask) -> Account:
    return make_account("acme", owner="owner@acme.test")


def stripe() -> StripeProvider:
    provider = get_metering_provider("stripe")
    assert isinstance(provider, StripeProvider)
    return provider


def subscription() -> Subscription:
    db.session.rollback()  # see the sandbox's commits
    return db.session.scalars(
        sa.select(Subscription).where(Subscription.provider == "stripe")
    ).one()


def pay(sandbox_app: Flask, account: Account, *metered: str, trial: bool = False) -> str:
    """Buy Pro with the metered prices ``metered`` through the sandbox; return the customer."""
    url = stripe().start_checkout(
        account,
        tier("pro"),
        success_url=f"{PUBLIC_URL}/account",
        cancel_url=f"{PUBLIC_URL}/pricing",
        metered_price_lookup_keys=metered,
    )
    client = sandbox_app.test_client()
    paid = client.post(url.removeprefix(PUBLIC_URL) + "/pay", data={"trial": "1"} if trial else {})
    assert paid.status_code == 303
    return subscription().provider_customer_id


def usage(identifier: str, customer: str, value: int, **changes: Any) -> MeterUsage:
    fields = {
        "identifier": identifier,
        "event_name": "api_call",
        "customer_id": customer,
        "value": value,
        "timestamp": datetime.now(UTC) - timedelta(minutes=1),
        **changes,
    }
    return MeterUsage(**fields)


def summed(customer: str, event_name: str = "api_call") -> int:
    """Ask the sandbox's Stripe, through the SDK, for the customer's usage of the last day."""
    client = stripe().client
    meter = next(m for m in client.v1.billing.meters.list().data if m.event_name == event_name)
    now = int(datetime.now(UTC).timestamp()) // 60 * 60
    summaries = client.v1.billing.meters.event_summaries.list(
        meter.id,
        params={"customer": customer, "start_time": now - 24 * HOUR, "end_time": now + HOUR},
    )
    [summary] = summaries.data
    assert summary.meter == meter.id
    return int(summary.aggregated_value)


def meter_events() -> list[dict[str, Any]]:
    db.session.rollback()
    return [row.data for row in store.list_objects("stripe", "meter_event")]


def test_reported_usage_is_summed_per_customer_and_meter(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    other = make_account("globex", owner="owner@globex.test")
    db.session.commit()

    stripe().report_meter_events(
        [
            usage("u-1", customer, 120),
            usage("u-2", customer, 30),
            usage("u-3", customer, 7, event_name="export"),
        ]
    )

    assert (summed(customer), summed(customer, "export")) == (150, 7)
    assert [event["identifier"] for event in meter_events()] == ["u-1", "u-2", "u-3"]
    assert meter_events()[0]["payload"] == {"stripe_customer_id": customer, "value": "120"}
    assert other.id != account.id


def test_the_same_identifier_twice_counts_once_without_an_error(
    sandbox_app, account, inbox
) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    stripe().report_meter_events([usage("u-1", customer, 5)])
    # Again, later, and twice within one batch: Stripe answers "already exists" each time.
    stripe().report_meter_events([usage("u-1", customer, 5), usage("u-2", customer, 1)])
    stripe().report_meter_events([usage("u-3", customer, 2), usage("u-3", customer, 2)])

    assert summed(customer) == 8
    assert len(meter_events()) == 3


def test_stripe_refuses_a_known_identifier_as_real_stripe_does(sandbox_app, account) -> None:
    first = {
        "event_name": "api_call",
        "identifier": "u-1",
        "payload[stripe_customer_id]": "cus_x",
        "payload[value]": "1",
    }
    client = sandbox_app.test_client()
    headers = {"Authorization": "Bearer sk_test_tiergate_sandbox"}
    assert client.post("/_sandbox/stripe/v1/billing/meter_events", data=first, headers=headers)
    again = client.post("/_sandbox/stripe/v1/billing/meter_events", data=first, headers=headers)
    assert again.status_code == 400
    assert again.json == {
        "error": {
            "type": "invalid_request_error",
            "message": "An event already exists with identifier u-1.",
        }
    }
    assert again.headers["Stripe-Should-Retry"] == "false"


class Failing(httpx.BaseTransport):
    """The sandbox's transport, failing meter event calls as asked."""

    def __init__(self, inner: httpx.BaseTransport, how: str) -> None:
        self.inner = inner
        self.how = how
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/billing/meter_events"):
            return self.inner.handle_request(request)
        self.calls += 1
        if self.how == "500":
            return httpx.Response(500, json={"error": {"type": "api_error", "message": "boom"}})
        if self.how == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        # "lost": Stripe records the event, but its answer never arrives.
        self.inner.handle_request(request)
        raise httpx.ReadTimeout("timed out", request=request)


def failing(how: str) -> tuple[StripeProvider, Failing]:
    settings = stripe_settings()
    assert settings.transport is not None
    transport = Failing(settings.transport, how)
    return StripeProvider(replace(settings, transport=transport)), transport


@pytest.mark.parametrize("how", ["500", "timeout"])
def test_a_failing_stripe_raises_and_counts_nothing(sandbox_app, account, inbox, how) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    provider, transport = failing(how)

    with pytest.raises(ProviderUnavailable, match="Stripe is unavailable") as caught:
        provider.report_meter_events([usage("u-1", customer, 9), usage("u-2", customer, 1)])

    assert isinstance(caught.value, ProviderError)
    assert caught.value.details["failed_identifier"] == "u-1"
    assert caught.value.details["reported"] == []
    assert transport.calls == 1  # the batch stops at the first failure
    assert meter_events() == []
    assert summed(customer) == 0


def test_a_lost_answer_then_a_retry_counts_once(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    provider, _ = failing("lost")
    batch = [usage("u-1", customer, 9), usage("u-2", customer, 1)]

    with pytest.raises(ProviderError):
        provider.report_meter_events(batch)
    assert summed(customer) == 9  # Stripe has the first one; the caller does not know it

    stripe().report_meter_events(batch)  # the retry
    assert summed(customer) == 10
    assert len(meter_events()) == 2


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"identifier": ""}, "identifier"),
        ({"identifier": "x" * 101}, "identifier"),
        ({"event_name": " "}, "event_name"),
        ({"customer_id": "acme"}, "customer_id"),
        ({"value": -1}, "value"),
        ({"value": 2.5}, "value"),
        ({"value": True}, "value"),
        ({"timestamp": datetime(2026, 1, 1)}, "timestamp"),
    ],
)
def test_bad_usage_is_refused_before_anything_is_sent(
    sandbox_app, account, inbox, changes, named
) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    good = usage("u-ok", customer, 1)
    bad = replace(usage("u-bad", customer, 1), **changes)
    with pytest.raises(ValidationError, match=named) as caught:
        stripe().report_meter_events([good, bad])
    assert caught.value.details["field"] == named
    assert meter_events() == []


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
    with pytest.raises(ValidationError, match="without repeats"):
        stripe().start_checkout(
            account,
            tier("pro"),
            success_url="/",
            cancel_url="/",
            metered_price_lookup_keys=["api_calls_metered", "api_calls_metered"],
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

    page = sandbox_app.test_client().get(f"/_sandbox/stripe/invoices/{renewal['id']}")
    assert page.status_code == 200
    assert b"1233 \xc3\x97 api_call" in page.data and b"$6.17" in page.data
    assert b"$25.29" in page.data

    # Usage already billed is not billed again.
    sandbox_app.test_cli_runner().invoke(args=["sandbox", "advance", "acme", "--to", "renewed"])
    db.session.rollback()
    latest = store.list_objects("stripe", "invoice")[-1].data
    assert [line["quantity"] for line in latest["lines"]["data"]] == [1, 0, 0]


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


def test_whop_has_no_metering(sandbox_app) -> None:
    with pytest.raises(MeteringNotSupported, match="Whop has no usage-based billing") as caught:
        get_metering_provider("whop")
    assert caught.value.status == 422
    assert get_provider("stripe").name == "stripe"


@pytest.mark.parametrize(
    "setting", ["api_calls_metered", "a:b:c", "a::1", "a:b:-1", "a:b:NaN", "a:b:1:2"]
)
def test_a_malformed_metered_price_setting_is_named(sandbox_app, setting) -> None:
    sandbox_app.config["TIERGATE_SANDBOX_STRIPE_METERED_PRICES"] = f"ok:fine:1,{setting}"
    with pytest.raises(ConfigurationError, match=f"{setting!r} is not lookup_key:event_name"):
        stripe_metered.configured()

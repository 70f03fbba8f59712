"""Usage-based billing: the real Stripe SDK reporting meter events to the sandbox's Stripe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account
from tiergate.billing.models import Subscription
from tiergate.billing.providers import (
    MeteringNotSupported,
    ProviderError,
    get_metering_provider,
    get_provider,
)
from tiergate.billing.providers.sandbox import store
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.providers.stripe_meters import MeterUsage
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db
from tiergate.errors import ValidationError

from ..accounts.factories import make_account, make_catalog
from ..conftest import app_on_copy

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
    # The in-process sandbox answers in this app context, so in this session: end its read
    # transaction first, or SQLite shows the snapshot from before the reports committed.
    db.session.rollback()
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


def test_whop_has_no_metering(sandbox_app) -> None:
    with pytest.raises(MeteringNotSupported, match="Whop has no usage-based billing") as caught:
        get_metering_provider("whop")
    assert caught.value.status == 422
    assert get_provider("stripe").name == "stripe"


def test_racing_reports_of_one_identifier_count_once(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def report() -> None:
        with sandbox_app.app_context():
            barrier.wait()
            try:
                stripe().report_meter_events([usage("u-race", customer, 7)])
                outcomes.append("ok")
            except ProviderError as error:  # pragma: no cover - shown in the assertion
                outcomes.append(error.message)

    threads = [threading.Thread(target=report) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == ["ok"] * 6
    assert summed(customer) == 7
    assert len(meter_events()) == 1

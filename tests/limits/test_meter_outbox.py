"""The meter outbox against the sandbox's Stripe: exactly once under retries and a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.apikeys import create_api_key
from tiergate.accounts.models import Account
from tiergate.catalog.limits import checkout_options
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db
from tiergate.limits import check, track
from tiergate.limits.meter_sender import send_meter_events
from tiergate.limits.meter_worker import meter_worker
from tiergate.limits.models import MeterEvent

from ..accounts.factories import SYSTEM, allow_api, make_account
from ..billing.test_stripe_meters import PUBLIC_URL, stripe, subscription, summed
from ..billing.test_stripe_meters_failures import failing
from ..conftest import app_on_copy, http_client
from .support import make_limits_catalog

#: The test catalog's billed permission reports to the meter "api_calls" (support.py).
METERED = "api_calls_overage:api_calls:0.5"


def priced_limits_catalog() -> None:
    make_limits_catalog()
    tier("pro").fallback_price = "$19"
    db.session.commit()
    allow_api("pro")  # the tests track through the API with the account's key


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "outbox",
        priced_limits_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
        TIERGATE_SANDBOX_STRIPE_METERED_PRICES=METERED,
        TIERGATE_METER_SEND_AFTER_COMMIT=False,
    )


def pay(app: Flask, account: Account) -> str:
    """Buy Pro through the sandbox with the tier's metered prices; return the customer."""
    options = checkout_options(tier("pro"))
    assert options == {"metered_price_lookup_keys": ["api_calls_overage"]}
    url = stripe().start_checkout(
        account, tier("pro"), success_url=f"{PUBLIC_URL}/account",
        cancel_url=f"{PUBLIC_URL}/pricing", **options,
    )  # fmt: skip
    paid = app.test_client().post(url.removeprefix(PUBLIC_URL) + "/pay")
    assert paid.status_code == 303
    return subscription().provider_customer_id


def unsent() -> list[MeterEvent]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(MeterEvent).where(MeterEvent.sent_at.is_(None))))


def test_usage_committed_then_a_crash_then_retries_reach_stripe_exactly_once(sandbox_app):
    account = make_account("acme", owner="owner@acme.test")
    customer = pay(sandbox_app, account)
    for amount in (7, 5, 30):
        track(account.id, "api.billed", amount)
        db.session.commit()  # committed; the process "crashes" before sending anything
    assert [row.value for row in unsent()] == [7, 5, 30]

    provider, _ = failing("lost")  # Stripe records the first event, its answer is lost
    summary = send_meter_events(reporter=provider)
    assert (summary.sent, summary.failed) == (0, 1) and "timed out" in (summary.error or "")
    assert [row.attempts for row in unsent()] == [1, 0, 0]  # the run stopped at the outage
    assert summed(customer, "api_calls") == 7

    assert send_meter_events().sent == 2  # the others go while the first one backs off
    db.session.execute(sa.update(MeterEvent).values(next_attempt_at=None))
    db.session.commit()
    assert send_meter_events().sent == 1  # the retry: the first identifier counts once
    assert unsent() == [] and send_meter_events().sent == 0
    assert summed(customer, "api_calls") == 42 == check(account.id, "api.billed", 0).used


def test_the_sandbox_invoice_bills_what_tiergate_counted(sandbox_app):
    account = make_account("acme", owner="owner@acme.test")
    pay(sandbox_app, account)
    for amount in (1000, 9500, 733):  # beyond Pro's 10,000: overage, billed, never refused
        track(account.id, "api.billed", amount)
        db.session.commit()
    assert send_meter_events().sent == 3
    counted = check(account.id, "api.billed", 0)
    assert (counted.used, counted.allowed, counted.billed) == (11_233, True, True)

    result = sandbox_app.test_cli_runner().invoke(
        args=["sandbox", "advance", "acme", "--to", "renewed"]
    )
    assert result.exit_code == 0, result.output
    db.session.rollback()
    from tiergate.billing.providers.sandbox import store

    renewal = store.list_objects("stripe", "invoice")[-1].data
    _plan, calls = renewal["lines"]["data"]
    assert calls["quantity"] == counted.used


def test_a_free_account_writes_nothing_to_the_outbox(sandbox_app):
    account = make_account("acme", owner="owner@acme.test")
    track(account.id, "api.billed", 3)  # no Stripe customer: counted, not billed
    db.session.commit()
    assert unsent() == []


def test_the_api_reports_usage_after_its_commit(sandbox_app):
    sandbox_app.config["TIERGATE_METER_SEND_AFTER_COMMIT"] = True
    account = make_account("acme", owner="owner@acme.test")
    customer = pay(sandbox_app, account)
    _, key = create_api_key("meter", account=db.session.get_one(Account, account.id), actor=SYSTEM)
    db.session.commit()
    response = http_client(sandbox_app).post(
        f"/api/v1/accounts/{account.id}/track",
        json={"permission": "api.billed", "amount": 12},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.get_json()
    assert meter_worker(sandbox_app).wait_until_idle()  # sent after the commit, off the request
    assert unsent() == []
    assert summed(customer, "api_calls") == 12


def test_a_hard_limit_with_a_meter_bills_overage_instead_of_refusing(sandbox_app):
    from tiergate.catalog.models import Permission
    from tiergate.entitlements.services import get_cache

    db.session.execute(
        sa.update(Permission).where(Permission.key == "api.billed").values(enforcement="hard")
    )
    db.session.commit()
    get_cache().invalidate(catalog=True)
    account = make_account("acme", owner="owner@acme.test")
    pay(sandbox_app, account)
    for amount in (9_000, 1_000, 500):  # Pro allows 10,000; the last 500 are billed overage
        track(account.id, "api.billed", amount)
        db.session.commit()
    counted = check(account.id, "api.billed", 0)
    assert (counted.used, counted.allowed, counted.billed) == (10_500, True, True)
    assert send_meter_events().sent == 3

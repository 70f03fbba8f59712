"""The Stripe sandbox driven by the real SDK: checkout, Pay, portal, cancel, time moving on."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.billing.providers import ProviderError, get_provider
from tiergate.billing.providers.sandbox.models import SandboxObject
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db
from tiergate.entitlements.services import fresh_entitlements

from .conftest import PUBLIC_URL


def subscription() -> Subscription:
    # End the test's read transaction: SQLite shows it a snapshot from its start, and the
    # sandbox's requests commit in their own sessions meanwhile.
    db.session.rollback()
    return db.session.scalars(
        sa.select(Subscription).where(Subscription.provider == "stripe")
    ).one()


def pay(client, account, *, trial: bool = False, form: dict | None = None) -> str:
    url = get_provider("stripe").start_checkout(
        account,
        tier("pro"),
        success_url=f"{PUBLIC_URL}/account?session={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{PUBLIC_URL}/pricing",
    )
    assert url.startswith(f"{PUBLIC_URL}/_sandbox/stripe/checkout/cs_test_")
    path = url.removeprefix(PUBLIC_URL)
    page = client.get(path)
    assert page.status_code == 200
    assert b"Pay" in page.data and b"Pro" in page.data
    paid = client.post(path + "/pay", data={**({"trial": "1"} if trial else {}), **(form or {})})
    assert paid.status_code == 303
    session_id = path.rsplit("/", 1)[1]
    assert paid.headers["Location"] == f"{PUBLIC_URL}/account?session={session_id}"
    return session_id


def test_pay_creates_the_subscription_and_sends_signed_events(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    pay(client, account)
    assert inbox.events == [
        ("stripe", "customer.subscription.updated"),
        ("stripe", "customer.subscription.created"),
        ("stripe", "checkout.session.completed"),
        ("stripe", "invoice.paid"),
    ]
    stored = subscription()
    assert (stored.account_id, stored.tier.key, stored.status) == (account.id, "pro", "active")
    assert stored.provider_customer_id.startswith("cus_sbx")
    assert stored.current_period_end is not None


def test_a_second_checkout_reuses_the_customer(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    pay(client, account)
    customer = subscription().provider_customer_id
    get_provider("stripe").start_checkout(account, tier("team"), success_url="/", cancel_url="/")
    db.session.rollback()
    sessions = db.session.scalars(
        sa.select(SandboxObject)
        .where(SandboxObject.kind == "checkout_session")
        .order_by(SandboxObject.id)
    ).all()
    assert len(sessions) == 2
    assert sessions[1].data["customer"] == customer
    assert sessions[1].data["customer_email"] is None


def test_portal_cancels_through_signed_events(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    pay(client, account)
    url = get_provider("stripe").portal_url(account, return_url=f"{PUBLIC_URL}/account")
    path = url.removeprefix(PUBLIC_URL)
    page = client.get(path)
    assert page.status_code == 200 and b"Cancel now" in page.data
    sub_id = subscription().provider_subscription_id

    assert (
        client.post(path + "/cancel", data={"id": sub_id, "when": "period_end"}).status_code == 303
    )
    assert (subscription().status, subscription().cancel_at_period_end) == ("active", True)
    assert client.post(path + "/cancel", data={"id": sub_id, "when": "now"}).status_code == 303
    assert subscription().status == "canceled"
    assert inbox.events[-1] == ("stripe", "customer.subscription.deleted")


def test_sandbox_advance_moves_the_subscription_through_time(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    runner = sandbox_app.test_cli_runner()
    pay(client, account, trial=True)
    assert subscription().status == "trialing"
    steps = [
        ("trial_end", "active"),
        ("renewed", "active"),
        ("past_due", "past_due"),
        ("renewed", "active"),
        ("canceled", "canceled"),
    ]
    for to, status in steps:
        before = subscription().current_period_end
        result = runner.invoke(args=["sandbox", "advance", "acme", "--to", to])
        assert result.exit_code == 0, result.output
        assert "HTTP 200" in result.output
        assert subscription().status == status
        if to == "past_due":  # the failed renewal rolled the period over
            assert subscription().current_period_start == before
        if to == "renewed" and status == "active" and before is not None:
            # A paid renewal moves the period on; paying a past_due one keeps the rolled one.
            assert subscription().current_period_end >= before
    assert ("stripe", "invoice.payment_failed") in inbox.events


def test_sandbox_advance_needs_a_sandbox_subscription(sandbox_app, account) -> None:
    result = sandbox_app.test_cli_runner().invoke(
        args=["sandbox", "advance", "acme", "--to", "renewed"]
    )
    assert result.exit_code == 1
    assert "has no sandbox subscription: pay a sandbox checkout first" in result.output


def test_listing_pages_through_the_sandbox(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    for _ in range(3):
        pay(client, account)
    provider = get_provider("stripe")
    listed = list(provider.client.v1.subscriptions.list(params={"limit": 2}).auto_paging_iter())
    assert len({item.id for item in listed}) == 3
    rows = list(provider.list_subscriptions())
    assert [row.error for row in rows] == [None, None, None]
    assert {row.state.tier for row in rows} == {tier("pro").id}


def test_the_sandbox_api_wants_the_configured_key(sandbox_app, account) -> None:
    answer = sandbox_app.test_client().get("/_sandbox/stripe/v1/prices")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["message"] == "Invalid API Key provided."
    sandbox_app.config["TIERGATE_STRIPE_SECRET_KEY"] = "sk_test_other"
    provider = get_provider("stripe")
    sandbox_app.config["TIERGATE_STRIPE_SECRET_KEY"] = None
    with pytest.raises(ProviderError, match="refused the API key"):
        provider.start_checkout(account, tier("pro"), success_url="/", cancel_url="/")


def test_pay_sends_created_and_updated_in_one_second_in_either_order(
    sandbox_app, account, inbox
) -> None:
    """Checkout's incomplete/active pair shares a second; either delivery order ends active."""
    client = sandbox_app.test_client()
    pay(client, account, form={"order": "created_first"})
    assert inbox.events[:2] == [
        ("stripe", "customer.subscription.created"),
        ("stripe", "customer.subscription.updated"),
    ]
    assert subscription().status == "active"
    [created, updated] = [
        payload
        for payload in inbox.payloads
        if payload["type"].startswith("customer.subscription.")
    ]
    assert created["created"] == updated["created"]
    assert created["data"]["object"]["status"] == "incomplete"
    assert updated["data"]["object"]["status"] == "active"
    assert updated["data"]["previous_attributes"] == {"status": "incomplete"}


def test_a_failed_renewal_rolls_the_period_over_and_grace_keeps_its_start(
    sandbox_app, account, inbox
) -> None:
    client = sandbox_app.test_client()
    runner = sandbox_app.test_cli_runner()
    pay(client, account)
    paid = subscription()
    first_end = paid.current_period_end
    assert paid.paid_through == first_end

    result = runner.invoke(args=["sandbox", "advance", "acme", "--to", "past_due"])
    assert result.exit_code == 0, result.output
    assert inbox.events[-2:] == [
        ("stripe", "invoice.payment_failed"),
        ("stripe", "customer.subscription.updated"),
    ]
    failed = subscription()
    failed_period = (failed.current_period_start, failed.current_period_end)
    assert failed.status == "past_due"
    assert failed_period[0] == first_end  # the failed renewal
    assert failed_period[1] > first_end
    assert failed.paid_through == first_end
    grace_ends = first_end + timedelta(days=7)
    assert fresh_entitlements(account, now=grace_ends - timedelta(seconds=1)).tier_key == "pro"
    assert fresh_entitlements(account, now=grace_ends).tier_key == "free"

    # Left past_due, it rolls over again: the grace still counts from the first failure.
    assert runner.invoke(args=["sandbox", "advance", "acme", "--to", "past_due"]).exit_code == 0
    again = subscription()
    assert again.current_period_start == failed_period[1]
    assert again.paid_through == first_end
    rolled_end = again.current_period_end

    # Paying the open invoice makes it active in the period it rolled to.
    assert runner.invoke(args=["sandbox", "advance", "acme", "--to", "renewed"]).exit_code == 0
    recovered = subscription()
    assert (recovered.status, recovered.current_period_end) == ("active", rolled_end)
    assert recovered.paid_through == rolled_end

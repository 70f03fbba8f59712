"""The whole offline flow through the pages, the sandbox and the signed webhooks.

pricing -> checkout -> sandbox pay page -> Pay -> signed webhook -> entitlements upgraded ->
portal -> cancel -> entitlements fall back; for Stripe and for Whop, with production code all
the way (the SDKs, signature verification, the inbox, the subscription writer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.billing.models import Subscription
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db
from tiergate.entitlements.services import fresh_entitlements

from ..accounts.factories import make_account, make_catalog
from ..browsing import csrf_token_of, log_in_with_form
from ..conftest import app_on_copy, http_client

PUBLIC_URL = "http://localhost"


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "sandbox-flow",
        make_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
    )


@pytest.fixture
def acme(sandbox_app: Flask) -> Account:
    return make_account("acme", owner="owner@acme.test")


@pytest.fixture
def browser(sandbox_app: Flask, acme: Account) -> FlaskClient:
    client = http_client(sandbox_app)
    log_in_with_form(client, "owner@acme.test")
    return client


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def tier_of(account: Account) -> str:
    db.session.rollback()  # the pages committed in their own sessions
    return fresh_entitlements(account).tier_key


def inbox_events(provider: str) -> list[tuple[str, str]]:
    db.session.rollback()
    rows = db.session.scalars(
        sa.select(WebhookEvent).where(WebhookEvent.provider == provider).order_by(WebhookEvent.id)
    )
    return [(row.type, row.status) for row in rows]


def buy(browser: FlaskClient, tier_key: str) -> str:
    """Choose ``tier_key`` on the pricing page and pay on the sandbox page; return the page."""
    pricing = browser.get("/pricing")
    assert pricing.status_code == 200
    form_action = re.search(
        rf'action="(/billing/checkout/{tier_key}[^"]*)"', pricing.get_data(as_text=True)
    )
    assert form_action, f"no checkout button for {tier_key} on the pricing page"
    action = form_action.group(1).replace("&amp;", "&")
    checkout = browser.post(action, data={"csrf_token": csrf_token_of(browser, "/pricing")})
    assert checkout.status_code == 303, checkout.get_data(as_text=True)
    page_path = path_of(checkout.headers["Location"])
    assert page_path.startswith("/_sandbox/")
    page = browser.get(page_path)
    assert page.status_code == 200 and "Pay" in page.get_data(as_text=True)
    paid = browser.post(page_path + "/pay", data={"csrf_token": csrf_token_of(browser, page_path)})
    assert paid.status_code == 303, paid.get_data(as_text=True)
    return page_path


def open_billing(browser: FlaskClient) -> str:
    """Open the provider's billing page from the account; return its path."""
    token = csrf_token_of(browser, "/account")
    manage = browser.post("/billing/manage", data={"csrf_token": token})
    assert manage.status_code == 303, manage.get_data(as_text=True)
    return path_of(manage.headers["Location"])


def cancel_now(browser: FlaskClient, portal_path: str, subscription_id: str) -> None:
    page = browser.get(portal_path)
    assert page.status_code == 200 and subscription_id in page.get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)"', page.get_data(as_text=True))
    assert form
    cancel = browser.post(
        form.group(1),
        data={
            "csrf_token": csrf_token_of(browser, portal_path),
            "id": subscription_id,
            "when": "now",
        },
    )
    assert cancel.status_code == 303, cancel.get_data(as_text=True)


def only_subscription(provider: str) -> Subscription:
    db.session.rollback()
    return db.session.scalars(
        sa.select(Subscription).where(Subscription.provider == provider)
    ).one()


def test_stripe_pay_upgrades_and_cancel_falls_back(browser, acme) -> None:
    assert tier_of(acme) == "free"
    buy(browser, "pro")
    assert inbox_events("stripe") == [
        # Checkout's same-second pair, the update first: the subscription ends active.
        ("customer.subscription.updated", "processed"),
        ("customer.subscription.created", "processed"),
        ("checkout.session.completed", "processed"),
        ("invoice.paid", "processed"),
    ]
    assert tier_of(acme) == "pro"
    subscription = only_subscription("stripe")
    assert (subscription.account_id, subscription.status) == (acme.id, "active")

    portal = open_billing(browser)
    assert portal.startswith("/_sandbox/stripe/portal/")
    cancel_now(browser, portal, subscription.provider_subscription_id)
    assert inbox_events("stripe")[-1] == ("customer.subscription.deleted", "processed")
    assert only_subscription("stripe").status == "canceled"
    assert tier_of(acme) == "free"


def test_whop_pay_upgrades_and_cancel_falls_back(browser, acme) -> None:
    buy(browser, "enterprise")
    assert inbox_events("whop") == [
        ("membership.activated", "processed"),
        ("payment.succeeded", "processed"),
    ]
    assert tier_of(acme) == "enterprise"
    membership = only_subscription("whop")

    manage = open_billing(browser)
    assert manage.startswith(f"/_sandbox/whop/manage/{membership.provider_subscription_id}")
    cancel_now(browser, manage, membership.provider_subscription_id)
    assert inbox_events("whop")[-1] == ("membership.deactivated", "processed")
    assert tier_of(acme) == "free"


def test_sandbox_advance_sends_events_the_inbox_applies(sandbox_app, browser, acme) -> None:
    buy(browser, "team")
    runner = sandbox_app.test_cli_runner()
    result = runner.invoke(args=["sandbox", "advance", "acme", "--to", "past_due"])
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.output
    assert only_subscription("stripe").status == "past_due"
    assert inbox_events("stripe")[-2:] == [
        ("invoice.payment_failed", "processed"),
        ("customer.subscription.updated", "processed"),
    ]
    result = runner.invoke(args=["sandbox", "advance", "acme", "--to", "canceled"])
    assert result.exit_code == 0, result.output
    assert tier_of(acme) == "free"

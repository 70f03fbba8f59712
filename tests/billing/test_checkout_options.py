"""Checkout: the interval's price, trial, seats, promotion codes and tax, as the sandbox got them.

Each test posts the pricing page's form to /billing/checkout/<tier>; the real stripe / whop-sdk
code calls the sandbox, and the assertions read what the sandbox stored from that request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.accounts.seats import add_member
from tiergate.billing.checkout import checkout_terms, parse_interval, trial_days_for
from tiergate.billing.models import Subscription
from tiergate.billing.providers.sandbox import SandboxObject
from tiergate.catalog import services as catalog
from tiergate.db import db
from tiergate.errors import ValidationError

from ..accounts.factories import NOW, SYSTEM, make_account, make_catalog, make_user, subscribe
from ..browsing import csrf_token_of, log_in_with_form
from ..conftest import app_on_copy, http_client

PUBLIC_URL = "http://localhost"


def lifecycle_catalog() -> None:
    """The test catalog, with yearly prices, a trial on pro and per-seat team."""
    make_catalog()
    catalog.update_tier("free", user_limit=10)
    catalog.update_tier("pro", stripe_yearly_lookup_key="pro_yearly", trial_days=21)
    catalog.update_tier("team", stripe_yearly_lookup_key="team_yearly", per_seat=True)
    catalog.update_tier("enterprise", whop_yearly_product_key="prod_enterprise_yearly")
    db.session.commit()


def sandbox_app_with(tmp_path: Path, template: Path, **settings: object) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        template,
        "checkout",
        lifecycle_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
        **settings,
    )


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from sandbox_app_with(tmp_path, sqlite_template)


@pytest.fixture
def acme(sandbox_app: Flask) -> Account:
    return make_account("acme", owner="owner@acme.test")


@pytest.fixture
def browser(sandbox_app: Flask, acme: Account) -> FlaskClient:
    client = http_client(sandbox_app)
    log_in_with_form(client, "owner@acme.test")
    return client


def start_checkout(browser: FlaskClient, tier: str, interval: str | None = None) -> str:
    """Post the pricing page's checkout form; return the sandbox page's path."""
    data = {"csrf_token": csrf_token_of(browser, "/pricing")}
    if interval is not None:
        data["interval"] = interval
    response = browser.post(f"/billing/checkout/{tier}", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    parts = urlsplit(response.headers["Location"])
    assert parts.path.startswith("/_sandbox/"), response.headers["Location"]
    return parts.path


def received(provider: str, kind: str, object_id: str) -> dict:
    """Return what the sandbox stored for one object (the request as Stripe/Whop got it)."""
    db.session.rollback()
    row = db.session.scalar(
        sa.select(SandboxObject).where(
            SandboxObject.provider == provider,
            SandboxObject.kind == kind,
            SandboxObject.object_id == object_id,
        )
    )
    assert row is not None, object_id
    return dict(row.data)


def pay(browser: FlaskClient, page: str) -> None:
    paid = browser.post(page + "/pay", data={"csrf_token": csrf_token_of(browser, page)})
    assert paid.status_code == 303, paid.get_data(as_text=True)


def test_yearly_checkout_sells_the_yearly_price_for_the_seats_in_use(browser, acme) -> None:
    members = [make_user(email) for email in ("a@acme.test", "b@acme.test")]
    db.session.commit()
    for user in members:
        add_member(acme, user, actor=SYSTEM)
        db.session.commit()
    page = start_checkout(browser, "team", "year")
    session = received("stripe", "checkout_session", page.rsplit("/", 1)[-1])
    assert session["_price"] == "price_sbx_team_yearly"
    assert session["_quantity"] == 3  # the owner and two members
    assert session["_trial_period_days"] == 0  # team has no trial
    assert session["allow_promotion_codes"] is True
    assert session["automatic_tax"]["enabled"] is False
    assert session["customer_email"] == "owner@acme.test"
    shown = browser.get(page).get_data(as_text=True)
    assert "per year × 3 seats" in shown

    pay(browser, page)
    db.session.rollback()
    subscription = db.session.scalars(sa.select(Subscription)).one()
    assert (subscription.tier.key, subscription.status) == ("team", "active")
    remote = received("stripe", "subscription", subscription.provider_subscription_id)
    item = remote["items"]["data"][0]
    assert (item["quantity"], item["price"]["recurring"]["interval"]) == (3, "year")
    assert item["current_period_end"] - item["current_period_start"] == 365 * 86400


def test_monthly_is_the_default_and_a_trial_starts_trialing(browser, acme) -> None:
    page = start_checkout(browser, "pro")
    session = received("stripe", "checkout_session", page.rsplit("/", 1)[-1])
    assert (session["_price"], session["_quantity"], session["_trial_period_days"]) == (
        "price_sbx_pro_monthly",
        1,
        21,
    )
    assert "Free for 21 days" in browser.get(page).get_data(as_text=True)
    pay(browser, page)
    db.session.rollback()
    subscription = db.session.scalars(sa.select(Subscription)).one()
    assert subscription.status == "trialing"
    remote = received("stripe", "subscription", subscription.provider_subscription_id)
    assert remote["status"] == "trialing"
    assert remote["trial_end"] - remote["trial_start"] == 21 * 86400
    assert subscription.trial_end is not None
    assert subscription.trial_end - subscription.created_at.replace(microsecond=0) < timedelta(
        days=21, seconds=5
    )


def test_a_second_checkout_of_the_same_tier_has_no_trial(sandbox_app, acme) -> None:
    pro = catalog.get_tier("pro")
    assert trial_days_for(acme, pro) == 21
    subscribe(acme, "pro", status="canceled")
    assert trial_days_for(acme, pro) == 0
    assert trial_days_for(acme, catalog.get_tier("team")) == 0  # no trial days at all


def test_a_trial_is_given_once_per_account_whatever_tier_the_row_holds_now(
    sandbox_app, acme
) -> None:
    """Pro trial, switched to Team, cancelled: buying Pro again starts without a trial."""
    subscribe(acme, "pro", status="trialing", subscription_id="sub_first")
    subscribe(acme, "team", status="canceled", subscription_id="sub_first", updated_at=NOW)
    assert db.session.scalars(sa.select(Subscription.tier_id)).all() == [
        catalog.get_tier("team").id
    ]
    assert trial_days_for(acme, catalog.get_tier("pro")) == 0
    other = make_account("other", owner="owner@other.test")
    subscribe(other, "free", status="active", provider="exempt")
    assert trial_days_for(other, catalog.get_tier("pro")) == 21  # a grant is not a trial


def test_tax_and_promotion_codes_follow_the_settings(tmp_path, sqlite_template) -> None:
    for app in sandbox_app_with(
        tmp_path,
        sqlite_template,
        TIERGATE_STRIPE_AUTOMATIC_TAX=True,
        TIERGATE_STRIPE_ALLOW_PROMOTION_CODES=False,
    ):
        make_account("acme", owner="owner@acme.test")
        browser = http_client(app)
        log_in_with_form(browser, "owner@acme.test")
        page = start_checkout(browser, "pro", "month")
        session = received("stripe", "checkout_session", page.rsplit("/", 1)[-1])
        assert session["automatic_tax"]["enabled"] is True
        assert session["allow_promotion_codes"] is False


def test_tax_for_an_existing_customer_saves_the_address_checkout_collects(
    tmp_path, sqlite_template
) -> None:
    """Stripe refuses tax for a customer without an address unless Checkout saves it."""
    from tiergate.billing.providers.sandbox import store

    for app in sandbox_app_with(tmp_path, sqlite_template, TIERGATE_STRIPE_AUTOMATIC_TAX=True):
        acme = make_account("acme", owner="owner@acme.test")
        store.put("stripe", "customer", {"id": "cus_acme", "object": "customer", "address": None})
        subscribe(acme, "pro", status="canceled", provider_customer_id="cus_acme")
        browser = http_client(app)
        log_in_with_form(browser, "owner@acme.test")
        page = start_checkout(browser, "team", "month")
        session = received("stripe", "checkout_session", page.rsplit("/", 1)[-1])
        assert session["customer"] == "cus_acme"
        assert session["automatic_tax"]["enabled"] is True
        assert session["_customer_update"] == {"address": "auto"}


def test_whop_yearly_checkout_buys_the_yearly_product(browser, acme) -> None:
    page = start_checkout(browser, "enterprise", "year")
    configuration = received("whop", "checkout_configuration", page.split("/")[-1])
    assert configuration["plan_id"] == "plan_sbx_enterprise_yearly"
    pay(browser, page)
    db.session.rollback()
    subscription = db.session.scalars(sa.select(Subscription)).one()
    assert (subscription.tier.key, subscription.status) == ("enterprise", "active")


def test_a_tier_without_a_yearly_price_refuses_the_yearly_interval(sandbox_app, acme) -> None:
    catalog.update_tier("pro", stripe_yearly_lookup_key=None)
    with pytest.raises(ValidationError, match="tier 'pro' has no yearly price"):
        checkout_terms(acme, catalog.get_tier("pro"), "stripe", "year")
    with pytest.raises(ValidationError, match="billing interval 'weekly' is not one of"):
        parse_interval("weekly")


def test_an_unknown_interval_from_the_form_is_refused_with_its_reason(browser, acme) -> None:
    data = {"csrf_token": csrf_token_of(browser, "/pricing"), "interval": "fortnight"}
    response = browser.post("/billing/checkout/pro", data=data, follow_redirects=True)
    assert "billing interval &#39;fortnight&#39; is not one of month, year" in response.get_data(
        as_text=True
    )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SandboxObject)) == 0

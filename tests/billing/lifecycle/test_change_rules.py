"""Seats on a flat tier, idempotency across transitions, Whop intervals, the free tier, errors."""

from __future__ import annotations

import re
import time

import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...accounts.factories import subscribe
from ...browsing import csrf_token_of
from ...web.support import post_form
from ...web.test_billing_pages import whop_license_key
from .support import (
    buy,
    choose,
    confirm,
    confirm_page,
    live,
    only,
    pay,
    renewing,
    sandbox_objects,
    stripe_subscription,
    subscription_updates,
    text,
)
from .test_seats_and_settle import MEMBERS, per_seat_team


def three_seats(browser) -> None:
    for email in ("one@acme.test", "two@acme.test"):
        response = post_form(browser, MEMBERS, MEMBERS, {"email": email, "role": "member"})
        assert response.status_code == 303, text(response)


def test_a_flat_tier_bills_one_unit_after_a_per_seat_one(sandbox_app, browser, acme) -> None:
    per_seat_team()
    buy(browser, "team")
    three_seats(browser)
    team = only(renewing(acme))
    assert stripe_subscription(team.provider_subscription_id)["items"]["data"][0]["quantity"] == 3
    # A downgrade at the period end: the schedule's second phase bills Pro once.
    path, page = confirm_page(browser, choose(browser, "pro"))
    confirm(browser, path, page)
    (schedule,) = sandbox_objects("stripe", "subscription_schedule")
    assert [int(phase["items"][0]["quantity"]) for phase in schedule["phases"]] == [3, 1]


def test_a_flat_tier_swapped_at_once_bills_one_unit(sandbox_app, browser, acme) -> None:
    sandbox_app.config["TIERGATE_DOWNGRADE_AT_PERIOD_END"] = False
    per_seat_team()
    buy(browser, "team")
    three_seats(browser)
    team = only(renewing(acme))
    path, page = confirm_page(browser, choose(browser, "pro"))
    confirm(browser, path, page)
    swaps = [u for u in subscription_updates(team.provider_subscription_id) if "price" in str(u)]
    assert swaps[-1]["items"][0]["price"] == "price_sbx_pro_monthly"
    assert swaps[-1]["items"][0]["quantity"] == "1"
    assert only(renewing(acme)).quantity == 1


def press(browser, action: str, subscription: Subscription, page: str) -> None:
    """Send the account page's cancel/resume form, with the nonce ``page`` carried."""
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = browser.post(
        f"/billing/subscriptions/{subscription.id}/{action}?account=acme",
        data={"csrf_token": token, "nonce": nonce},
    )
    assert response.status_code == 303, text(response)


def test_cancel_resume_cancel_from_one_page_reaches_stripe_each_time(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    page = text(browser.get("/account"))  # one page, one nonce (the back button)
    for action in ("cancel", "resume", "cancel"):
        time.sleep(1.05)  # provider timestamps have whole seconds: each state is a new one
        press(browser, action, pro, page)
    updates = subscription_updates(pro.provider_subscription_id)
    assert [u["cancel_at_period_end"] for u in updates] == ["true", "false", "true"]
    assert stripe_subscription(pro.provider_subscription_id)["cancel_at_period_end"] is True
    assert only(live(acme)).cancel_at_period_end and renewing(acme) == []


def test_whop_monthly_to_yearly_is_bought_then_the_monthly_one_ends(browser, acme) -> None:
    db.session.execute(
        sa.update(SubscriptionTier)
        .where(SubscriptionTier.key == "enterprise")
        .values(whop_yearly_product_key="prod_enterprise_yearly")
    )
    db.session.commit()
    buy(browser, "enterprise")
    monthly = only(renewing(acme))
    pay(browser, choose(browser, "enterprise", interval="year"))
    yearly = only(renewing(acme))
    assert (yearly.provider, yearly.tier.key) == ("whop", "enterprise")
    assert yearly.id != monthly.id
    (membership,) = [
        m
        for m in sandbox_objects("whop", "membership")
        if m["id"] == yearly.provider_subscription_id
    ]
    assert membership["product_id"] == "prod_enterprise_yearly"
    assert membership["metadata"]["tiergate_replaces"] == f"whop:{monthly.provider_subscription_id}"
    old = next(s for s in live(acme) if s.id == monthly.id)
    assert old.cancel_at_period_end and old.successor_id == yearly.id


def test_the_free_tier_cancels_every_renewing_subscription(browser, acme) -> None:
    key = whop_license_key(acme)
    buy(browser, "pro")
    attached = post_form(
        browser, "/account", "/billing/license-key?account=acme", {"license_key": key}
    )
    assert attached.status_code == 303
    assert len(renewing(acme)) == 2
    page = text(browser.get("/billing/change/free"))
    done = confirm(browser, "/billing/change/free", page)
    assert renewing(acme) == [] and len(live(acme)) == 2
    flashed = text(browser.get(done.headers["Location"]))
    assert "Your 2 subscriptions end at the end of their periods" in flashed


def test_a_refused_or_outdated_confirmation_flashes_and_goes_back(browser, acme) -> None:
    buy(browser, "pro")
    token = csrf_token_of(browser, "/account")
    nonce = "n" * 24
    bad = browser.post(
        "/billing/change/team?interval=fortnight", data={"csrf_token": token, "nonce": nonce}
    )
    assert bad.status_code == 303
    assert "is not one of month, year" in text(browser.get(bad.headers["Location"]))
    # Enterprise is sold through Whop: bought at its checkout, not changed here.
    moved = browser.post("/billing/change/enterprise", data={"csrf_token": token, "nonce": nonce})
    assert moved.status_code == 303
    assert "bought through the checkout" in text(browser.get(moved.headers["Location"]))


def test_manage_falls_back_to_the_accounts_stripe_customer(browser, acme) -> None:
    buy(browser, "pro")
    customer = only(renewing(acme)).provider_customer_id
    # A newer Stripe plan stored without its customer (an import, an old webhook shape).
    subscribe(acme, "team", subscription_id="sub_without_customer")
    db.session.rollback()
    plan = db.session.scalar(
        sa.select(Subscription).where(
            Subscription.provider_subscription_id == "sub_without_customer"
        )
    )
    assert plan.provider_customer_id is None
    response = browser.post(
        "/billing/manage", data={"csrf_token": csrf_token_of(browser, "/account")}
    )
    assert response.status_code == 303, text(response)
    assert "/_sandbox/stripe/portal/" in response.headers["Location"]
    assert customer


def test_settle_counts_only_what_it_settled(sandbox_app, acme) -> None:
    sandbox_app.config["TIERGATE_SETTLE_AFTER_COMMIT"] = False
    subscribe(acme, "pro", subscription_id="sub_unknown_to_stripe")
    subscribe(
        acme,
        "enterprise",
        provider="whop",
        subscription_id="mem_new",
        replaces="stripe:sub_unknown_to_stripe",
    )
    result = sandbox_app.test_cli_runner().invoke(args=["billing", "settle"])
    assert result.exit_code == 1
    assert "0 settled, 1 failed" in result.output, result.output

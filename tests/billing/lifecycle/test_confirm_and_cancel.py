"""The confirm page's preview, a doubled confirmation, cancel and resume on both providers."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tiergate.audit.services import Actor
from tiergate.billing.lifecycle import changes
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...accounts.factories import subscribe
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
    tier_of,
)


def amount_shown(page: str) -> int:
    found = re.search(r'class="change-amount" data-amount="(-?\d+)"', page)
    assert found, page
    return int(found.group(1))


def test_the_confirm_page_shows_stripes_proration_before_anything_changes(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    before = stripe_subscription(pro.provider_subscription_id)
    _path, page = confirm_page(browser, choose(browser, "team"))
    # Team $30 - Pro $10 for (almost) the whole month just paid for: about $20.
    assert 1995 <= amount_shown(page) <= 2000
    assert "$20" in page or "$19.9" in page
    assert "next invoice" in page
    assert stripe_subscription(pro.provider_subscription_id) == before  # nothing changed yet
    assert tier_of(acme) == "pro"


@pytest.fixture
def always_invoice(sandbox_app):
    sandbox_app.config["TIERGATE_STRIPE_PRORATION_BEHAVIOR"] = "always_invoice"


def update_invoices() -> list[dict]:
    return [
        i
        for i in sandbox_objects("stripe", "invoice")
        if i["billing_reason"] == "subscription_update"
    ]


def test_always_invoice_charges_the_preview_now_and_a_double_submit_once(
    always_invoice, browser, acme
) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    path, page = confirm_page(browser, choose(browser, "team"))
    assert "Due now" in page
    shown = amount_shown(page)
    first = confirm(browser, path, page)
    again = confirm(browser, path, page)  # the same form sent twice (a double click, a reload)
    assert first.headers["Location"] == again.headers["Location"]
    (invoice,) = update_invoices()
    assert abs(invoice["amount_paid"] - shown) <= 1
    # A pending update (only what makes the invoice), then the rest once it is paid.
    swap, rest = subscription_updates(pro.provider_subscription_id)
    assert swap["proration_behavior"] == "always_invoice"
    assert swap["payment_behavior"] == "pending_if_incomplete" and "metadata" not in swap
    assert "items" not in rest and rest["cancel_at_period_end"] == "false"
    assert only(renewing(acme)).tier.key == "team"


def test_a_confirmation_racing_itself_reaches_stripe_once(always_invoice, browser, acme) -> None:
    """Two requests that both planned the change before either applied it: one update."""
    buy(browser, "pro")
    db.session.rollback()
    team = db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == "team"))
    plan = changes.plan_change(acme.id, team)
    # Both requests hold the subscription as they read it before either committed (a second
    # request's session does not see the first one's change): detached, it is not reloaded.
    db.session.expunge(plan.current)
    actor = Actor.system("test")
    for _attempt in range(2):
        changes.perform_change(plan, actor=actor, nonce="the-same-confirmation-nonce")
        db.session.commit()
    subscription_id = plan.current.provider_subscription_id
    # One change (its pending update and the rest); the second attempt was Stripe's replay.
    assert len(subscription_updates(subscription_id)) == 2
    assert len(update_invoices()) == 1


def press(browser, action: str) -> None:
    page = text(browser.get("/account"))
    form = re.search(rf'action="(/billing/subscriptions/\d+/{action}[^"]*)"', page)
    assert form, f"no {action} button on the account page"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    response = browser.post(
        form.group(1).replace("&amp;", "&"), data={"csrf_token": token, "nonce": nonce}
    )
    assert response.status_code == 303, text(response)


def test_cancel_then_resume_a_stripe_subscription(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    press(browser, "cancel")
    assert renewing(acme) == [] and only(live(acme)).cancel_at_period_end
    assert stripe_subscription(pro.provider_subscription_id)["cancel_at_period_end"] is True
    assert "ends on" in text(browser.get("/account"))
    press(browser, "resume")
    assert only(renewing(acme)).id == pro.id
    assert [
        u["cancel_at_period_end"] for u in subscription_updates(pro.provider_subscription_id)
    ] == [
        "true",
        "false",
    ]
    assert tier_of(acme) == "pro"


def test_cancel_then_resume_a_whop_membership(browser, acme) -> None:
    buy(browser, "enterprise")
    membership = only(renewing(acme))
    press(browser, "cancel")
    ending = only(live(acme))
    assert ending.cancel_at_period_end and ending.status == "active"
    press(browser, "resume")
    assert only(renewing(acme)).id == membership.id
    calls = [
        (r["method"], r["path"].removeprefix("/_sandbox/whop/api/v1"), r["params"])
        for r in sandbox_objects("whop", "api_request")
    ]
    mid = membership.provider_subscription_id
    assert calls == [
        ("POST", f"/memberships/{mid}/cancel", {"cancel_at_period_end": True}),
        ("PATCH", f"/memberships/{mid}", {"cancel_at_period_end": False}),
    ]
    assert tier_of(acme) == "enterprise"


def test_a_replaced_subscription_cannot_resume_while_its_successor_renews(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    pay(browser, choose(browser, "enterprise"))  # Whop: bought first, then Pro ends
    whop = only(renewing(acme))
    page = text(browser.get("/account"))
    assert f"/billing/subscriptions/{pro.id}/resume" not in page  # no button to press
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    refused = browser.post(
        f"/billing/subscriptions/{pro.id}/resume",
        data={"csrf_token": token, "nonce": nonce},
        follow_redirects=True,
    )
    assert "Enterprise subscription replaced this one" in text(refused)
    assert [
        u["cancel_at_period_end"] for u in subscription_updates(pro.provider_subscription_id)
    ] == ["true"]
    # Once the newer one is set to end, the older one may be kept instead.
    press(browser, "cancel")
    assert next(s for s in live(acme) if s.id == whop.id).cancel_at_period_end
    press(browser, "resume")
    assert only(renewing(acme)).id == pro.id


def test_a_one_time_purchase_has_nothing_to_cancel(browser, acme) -> None:
    subscribe(acme, "enterprise", provider="whop", subscription_id="mem_lifetime", **ONCE)
    page = text(browser.get("/account"))
    assert "paid once" in page and "Cancel at period end" not in page
    (lifetime,) = live(acme)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = browser.post(
        f"/billing/subscriptions/{lifetime.id}/cancel",
        data={"csrf_token": token, "nonce": "a-form-nonce-0123456789"},
        follow_redirects=True,
    )
    assert "a one-time purchase does not renew" in text(refused)
    assert not only(live(acme)).cancel_at_period_end


ONCE = {"billing_interval": "once"}

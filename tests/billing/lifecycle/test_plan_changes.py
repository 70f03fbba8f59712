"""The table of plan changes: after each, one renewing paid subscription, the right tier, and
the right request sent to the provider (read from what the sandbox received).

Each row starts from a purchase made on the pages and paid on the sandbox's checkout, then
chooses another plan the way the customer does (the /pricing button, or the account page).
"""

from __future__ import annotations

import copy
import re

import sqlalchemy as sa

from tiergate.audit.models import AuditEvent
from tiergate.billing.models import Subscription
from tiergate.billing.providers.sandbox import store
from tiergate.db import db

from ...browsing import csrf_token_of
from .support import (
    buy,
    choose,
    confirm,
    confirm_page,
    count,
    live,
    only,
    pay,
    renewing,
    sandbox_objects,
    stripe_subscription,
    subscription_updates,
    tier_of,
)


def swap_request(subscription_id: str) -> dict:
    """The one request that changed the subscription's items (a charged-at-once change is
    followed by a second request that sets the rest, as Stripe's pending updates need)."""
    updates = subscription_updates(subscription_id)
    (update,) = [u for u in updates if "items" in u] or updates
    return update


def test_free_to_pro_is_a_checkout(browser, acme) -> None:
    assert tier_of(acme) == "free"
    buy(browser, "pro")
    subscription = only(renewing(acme))
    assert (subscription.provider, subscription.tier.key) == ("stripe", "pro")
    assert tier_of(acme) == "pro"
    assert subscription_updates(subscription.provider_subscription_id) == []


def test_pro_to_team_swaps_the_price_of_the_same_subscription(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    path, page = confirm_page(browser, choose(browser, "team"))
    assert 'data-kind="swap"' in page
    confirm(browser, path, page)
    team = only(renewing(acme))
    assert team.id == pro.id and team.tier.key == "team"
    assert tier_of(acme) == "team"
    item_id = stripe_subscription(pro.provider_subscription_id)["items"]["data"][0]["id"]
    request = swap_request(pro.provider_subscription_id)
    assert request["items"] == [{"id": item_id, "price": "price_sbx_team_monthly", "quantity": "1"}]
    assert request["proration_behavior"] == "create_prorations"
    assert len(sandbox_objects("stripe", "subscription")) == 1  # demo bug 1: no second one


def test_team_to_pro_is_scheduled_for_the_period_end(sandbox_app, browser, acme) -> None:
    buy(browser, "team")
    team = only(renewing(acme))
    path, page = confirm_page(browser, choose(browser, "pro"))
    assert 'data-kind="schedule"' in page
    confirm(browser, path, page)
    scheduled = only(renewing(acme))
    assert scheduled.tier.key == "team" and tier_of(acme) == "team"
    assert scheduled.scheduled_tier.key == "pro"
    assert scheduled.scheduled_change_at == scheduled.current_period_end
    assert subscription_updates(team.provider_subscription_id) == []
    (schedule,) = sandbox_objects("stripe", "subscription_schedule")
    assert schedule["subscription"] == team.provider_subscription_id
    assert [phase["items"][0]["price"] for phase in schedule["phases"]] == [
        "price_sbx_team_monthly",
        "price_sbx_pro_monthly",
    ]
    assert "Pro" in browser.get("/account").get_data(as_text=True).split("changes to", 1)[1][:40]

    # The period rolls over: the schedule's second phase applies, through the webhook.
    result = sandbox_app.test_cli_runner().invoke(
        args=["sandbox", "advance", "acme", "--to", "renewed"]
    )
    assert result.exit_code == 0, result.output
    after = only(renewing(acme))
    assert (after.id, after.tier.key, after.scheduled_tier_id) == (team.id, "pro", None)
    assert tier_of(acme) == "pro"


def test_pro_to_free_cancels_at_the_period_end(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    response = browser.get("/billing/change/free")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-kind="cancel"' in page
    confirm(browser, "/billing/change/free", page)
    assert renewing(acme) == []
    ending = only(live(acme))
    assert ending.id == pro.id and ending.cancel_at_period_end
    assert tier_of(acme) == "pro"  # paid until the period end
    assert swap_request(pro.provider_subscription_id)["cancel_at_period_end"] == "true"


def test_stripe_to_whop_buys_first_then_ends_the_old_one(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    pay(browser, choose(browser, "enterprise"))  # another provider: a checkout, no confirm page
    whop = only(renewing(acme))
    assert (whop.provider, whop.tier.key) == ("whop", "enterprise")
    assert tier_of(acme) == "enterprise"
    old = next(s for s in live(acme) if s.id == pro.id)
    assert old.cancel_at_period_end and old.successor_id == whop.id
    assert swap_request(pro.provider_subscription_id)["cancel_at_period_end"] == "true"
    assert (
        count(
            AuditEvent,
            AuditEvent.action == "subscription.superseded",
            AuditEvent.target_id == str(pro.id),
        )
        == 1
    )
    page = browser.get("/account").get_data(as_text=True)
    assert "replaced by your new subscription" in page  # shown until it ends


def test_whop_to_stripe_cancels_the_membership_at_its_period_end(browser, acme) -> None:
    buy(browser, "enterprise")
    whop = only(renewing(acme))
    pay(browser, choose(browser, "pro"))
    stripe = only(renewing(acme))
    assert (stripe.provider, stripe.tier.key) == ("stripe", "pro")
    old = next(s for s in live(acme) if s.id == whop.id)
    assert old.cancel_at_period_end and old.successor_id == stripe.id
    calls = [
        r
        for r in sandbox_objects("whop", "api_request")
        if whop.provider_subscription_id in r["path"]
    ]
    assert [(c["method"], c["path"].rsplit("/", 1)[1], c["params"]) for c in calls] == [
        ("POST", "cancel", {"cancel_at_period_end": True})
    ]
    # Enterprise was paid for until its period end, so it still grants until then.
    assert tier_of(acme) == "enterprise"


def test_monthly_to_yearly_swaps_to_the_yearly_price(browser, acme) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    path, page = confirm_page(browser, choose(browser, "pro", interval="year"))
    assert "Pro (monthly) → Pro (yearly)" in page
    # Stripe invoices an interval change at once: the page says so, with the preview's amount.
    shown = re.search(r'data-amount="(\d+)">Due now: <strong>([^<]+)</strong>', page)
    assert shown and 9000 <= int(shown.group(1)) <= 9005, page
    assert shown.group(2).startswith("$90") and "next invoice" not in page
    confirm(browser, path, page)
    yearly = only(renewing(acme))
    assert (yearly.id, yearly.tier.key, yearly.billing_interval) == (pro.id, "pro", "year")
    request = swap_request(pro.provider_subscription_id)
    assert request["items"][0]["price"] == "price_sbx_pro_yearly"
    assert request["proration_behavior"] == "create_prorations"
    # Charged at once, so a pending update: a declined card leaves the monthly plan as it was.
    assert request["payment_behavior"] == "pending_if_incomplete" and "metadata" not in request
    # Stripe invoices an interval change at once: the year, less the unused month.
    (invoice,) = [
        i
        for i in sandbox_objects("stripe", "invoice")
        if i["billing_reason"] == "subscription_update"
    ]
    assert 9000 <= invoice["amount_due"] <= 9000 + 5
    assert abs(invoice["amount_due"] - int(shown.group(1))) <= 5  # what the page said


def test_a_downgrade_applies_at_once_when_configured(sandbox_app, browser, acme) -> None:
    sandbox_app.config["TIERGATE_DOWNGRADE_AT_PERIOD_END"] = False
    buy(browser, "team")
    team = only(renewing(acme))
    path, page = confirm_page(browser, choose(browser, "pro"))
    assert 'data-kind="swap"' in page
    confirm(browser, path, page)
    pro = only(renewing(acme))
    assert (pro.id, pro.tier.key, tier_of(acme)) == (team.id, "pro", "pro")
    request = swap_request(team.provider_subscription_id)
    assert request["items"][0]["price"] == "price_sbx_pro_monthly"
    assert request["proration_behavior"] == "create_prorations"
    assert sandbox_objects("stripe", "subscription_schedule") == []


def test_every_change_leaves_one_row_per_provider_subscription(browser, acme) -> None:
    buy(browser, "pro")
    path, page = confirm_page(browser, choose(browser, "team"))
    confirm(browser, path, page)
    rows = count(
        Subscription, Subscription.account_id == acme.id, Subscription.provider == "stripe"
    )
    assert rows == 1
    assert count(Subscription, sa.true()) == 1


def test_whop_to_another_whop_product_buys_first_then_ends_the_old_one(browser, acme) -> None:
    buy(browser, "enterprise")
    enterprise = only(renewing(acme))
    pay(browser, choose(browser, "guild"))
    guild = only(renewing(acme))
    assert (guild.provider, guild.tier.key) == ("whop", "guild")
    old = next(s for s in live(acme) if s.id == enterprise.id)
    assert old.cancel_at_period_end and old.successor_id == guild.id
    calls = [r["path"] for r in sandbox_objects("whop", "api_request")]
    assert calls == [
        f"/_sandbox/whop/api/v1/memberships/{enterprise.provider_subscription_id}/cancel"
    ]


def test_choosing_the_current_plan_again_takes_back_a_scheduled_downgrade(browser, acme) -> None:
    buy(browser, "team")
    path, page = confirm_page(browser, choose(browser, "pro"))
    confirm(browser, path, page)
    assert only(renewing(acme)).scheduled_tier.key == "pro"
    # /pricing shows Team as the current plan; its checkout form still leads here.
    path, page = confirm_page(
        browser,
        browser.post(
            "/billing/checkout/team", data={"csrf_token": csrf_token_of(browser, "/pricing")}
        ),
    )
    assert 'data-kind="swap"' in page and "Team (monthly) → Team (monthly)" in page
    confirm(browser, path, page)
    team = only(renewing(acme))
    assert (team.tier.key, team.scheduled_tier_id, team.scheduled_change_at) == ("team", None, None)
    (schedule,) = sandbox_objects("stripe", "subscription_schedule")
    assert schedule["status"] == "released"  # released before the item was updated
    assert stripe_subscription(team.provider_subscription_id)["schedule"] is None


def test_an_interval_change_half_way_costs_the_new_price_less_the_unused_half(
    browser, acme
) -> None:
    buy(browser, "pro")
    pro = only(renewing(acme))
    db.session.rollback()
    row = store.get("stripe", pro.provider_subscription_id, "subscription")
    sub = copy.deepcopy(row.data)
    item = sub["items"]["data"][0]
    half = (item["current_period_end"] - item["current_period_start"]) // 2
    item["current_period_start"] -= half
    item["current_period_end"] -= half
    store.put("stripe", "subscription", sub)
    db.session.commit()
    path, page = confirm_page(browser, choose(browser, "pro", interval="year"))
    shown = int(re.search(r'data-amount="(\d+)">Due now', page).group(1))
    assert 9495 <= shown <= 9505  # $100 for the year, less half of the $10 month
    confirm(browser, path, page)
    (invoice,) = [
        i
        for i in sandbox_objects("stripe", "invoice")
        if i["billing_reason"] == "subscription_update"
    ]
    assert abs(invoice["amount_due"] - shown) <= 5

"""Manage billing opens the provider of the plan; duplicates are shown and listed in admin."""

from __future__ import annotations

import re

from tiergate.db import db

from ...accounts.factories import make_account, make_user, subscribe
from ...browsing import csrf_token_of, log_in
from ...conftest import http_client
from ...web.support import post_form
from ...web.test_billing_pages import whop_license_key
from .support import buy, live, only, path_of, renewing, subscription_updates, text


def manage(browser, action: str = "/billing/manage") -> str:
    response = browser.post(action, data={"csrf_token": csrf_token_of(browser, "/account")})
    assert response.status_code == 303, text(response)
    return path_of(response.headers["Location"])


def test_manage_billing_opens_the_provider_of_the_plan(browser, acme) -> None:
    """Demo bug 3: a Whop membership updated last no longer wins over the Stripe plan."""
    buy(browser, "enterprise")
    membership = only(renewing(acme))
    buy(browser, "pro")  # the switch ends the membership at its period end
    pro = only(renewing(acme))
    # The membership is then ended at once on Whop's page: it is the last one updated.
    whop_page = f"/_sandbox/whop/manage/{membership.provider_subscription_id}"
    form = re.search(r'<form method="post" action="([^"]+)"', text(browser.get(whop_page)))
    ended = browser.post(
        form.group(1),
        data={
            "csrf_token": csrf_token_of(browser, whop_page),
            "id": membership.provider_subscription_id,
            "when": "now",
        },
    )
    assert ended.status_code == 303
    assert only(live(acme)).id == pro.id
    portal = manage(browser)
    assert portal.startswith("/_sandbox/stripe/portal/")
    assert pro.provider_subscription_id in text(browser.get(portal))


def test_each_live_subscription_has_its_own_management_link(browser, acme) -> None:
    buy(browser, "pro")
    buy(browser, "enterprise")  # Pro now ends at its period end, still live
    page = text(browser.get("/account"))
    actions = re.findall(r'action="(/billing/subscriptions/\d+/manage[^"]*)"', page)
    assert len(actions) == 2
    targets = sorted(
        manage(browser, action.replace("&amp;", "&")).split("/")[2] for action in actions
    )
    assert targets == ["stripe", "whop"]
    assert manage(browser).startswith("/_sandbox/whop/manage/")  # the plan: Enterprise


def test_duplicates_bought_elsewhere_are_shown_with_a_cancel_each(browser, acme) -> None:
    subscribe(acme, "pro", subscription_id="sub_elsewhere_1")
    subscribe(acme, "team", subscription_id="sub_elsewhere_2")
    page = text(browser.get("/account"))
    assert "More than one renews" in page
    for subscription_id in ("sub_elsewhere_1", "sub_elsewhere_2"):
        item = re.search(rf'data-subscription="{subscription_id}".*?</li>', page, re.S)
        assert item and "Cancel at period end" in item.group(0) and "Manage" in item.group(0)


def test_the_admin_console_lists_double_billed_accounts(sandbox_app, acme) -> None:
    single = make_account("single", owner="owner@single.test")
    ending = make_account("ending", owner="owner@ending.test")
    subscribe(acme, "pro", subscription_id="sub_acme_1")
    subscribe(acme, "enterprise", provider="whop", subscription_id="mem_acme_2")
    subscribe(single, "pro", subscription_id="sub_single")
    subscribe(ending, "pro", subscription_id="sub_ending_1", cancel_at_period_end=True)
    subscribe(ending, "team", subscription_id="sub_ending_2")
    make_user("staff@tiergate.test", staff=True)
    db.session.commit()
    staff = http_client(sandbox_app)
    log_in(staff, "staff@tiergate.test")
    page = text(staff.get("/admin/accounts?billing=double"))
    listed = set(re.findall(r"<td><code>([a-z]+)</code></td>", page))
    assert listed == {"acme"}
    assert "Accounts billed twice" in text(staff.get("/admin/accounts"))


def test_an_older_purchase_attached_later_never_cancels_the_plan(
    sandbox_app, browser, acme
) -> None:
    """A Whop membership bought outside tiergate, attached after Pro, ends nothing."""
    key = whop_license_key(acme)  # bought first, on Whop's own page
    buy(browser, "pro")
    pro = only(renewing(acme))
    response = post_form(
        browser, "/account", "/billing/license-key?account=acme", {"license_key": key}
    )
    assert response.status_code == 303, text(response)
    assert sorted(s.provider for s in renewing(acme)) == ["stripe", "whop"]
    assert subscription_updates(pro.provider_subscription_id) == []  # Pro was not cancelled
    assert all(s.successor_id is None for s in live(acme))
    assert "More than one renews" in text(browser.get("/account"))  # shown, for the customer
    result = sandbox_app.test_cli_runner().invoke(args=["billing", "settle"])
    assert result.exit_code == 0 and "nothing to settle" in result.output, result.output
    assert len(renewing(acme)) == 2

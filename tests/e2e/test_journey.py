"""The demo's whole journey in headless Chromium, against a real server.

A visitor signs up, picks Pro on the pricing page, pays on the sandbox's checkout page and
sees the account upgraded; invites members until the seat limit is explained; then the staff
user grants an exempt tier with a reason, finds it in the audit log, and — after a catalog
mistake makes a real provider event fail — fixes the catalog and replays the event.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx
import stripe
from playwright.sync_api import Page, expect

from tiergate.billing.providers.config import SANDBOX_STRIPE_WEBHOOK_SECRET

from .conftest import Journal, Server

PASSWORD = "correct horse battery staple"
PRO_LOOKUP_KEY = "tiergate_pro_monthly"
PRO_SEATS = 5


def watch_csp(page: Page) -> list[str]:
    """Collect the browser's Content-Security-Policy complaints (there must be none)."""
    complaints: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            complaints.append(f"{page.url}: {message.text}")

    page.on("console", note)
    return complaints


def main(page: Page) -> Any:
    return page.locator("main")


def sign_up(page: Page, server: Server, email: str, organisation: str) -> None:
    response = page.goto(server.url + "/signup")
    assert response is not None and response.ok
    assert "frame-ancestors 'none'" in (response.headers.get("content-security-policy") or "")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Your name").fill("Olive Owner")
    page.get_by_label("Organisation name").fill(organisation)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    # Sign-up answers alike whether or not the address is known: the new user logs in.
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def reload_until(page: Page, text: re.Pattern[str], attempts: int = 20) -> None:
    """Reload the page until its main content shows ``text`` (a bounded number of times)."""
    for _ in range(attempts):
        if text.search(main(page).inner_text()):
            return
        page.wait_for_timeout(500)
        page.reload()
    expect(main(page)).to_contain_text(text)


def choose_pro_and_pay(page: Page, server: Server, journal: Journal) -> None:
    page.goto(server.url + "/pricing")
    pro = page.locator("article", has=page.get_by_role("heading", name="Pro", exact=True))
    expect(pro).to_contain_text("$19/mo")
    expect(pro).to_contain_text("5 users")
    journal.step("pricing")
    pro.get_by_role("button", name="Upgrade to Pro").click()
    expect(page).to_have_url(re.compile(r"/_sandbox/stripe/checkout/"))
    expect(main(page)).to_contain_text("Sandbox.")
    expect(main(page)).to_contain_text("$19.00 per month")
    expect(main(page)).to_contain_text("Free for 14 days")  # the demo's Pro has a trial
    journal.step("sandbox checkout")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account\?.*checkout=done"))
    # Until the provider's confirmation arrives the page asks to wait; after it, it says so.
    expect(main(page)).to_contain_text(
        re.compile("the payment went through|your new plan is active")
    )
    # Another worker may have answered from its entitlements cache, which re-checks the
    # database at most a second later: the page says to reload, and so does the test.
    reload_until(page, re.compile(r"Pro, free trial"))
    expect(main(page)).to_contain_text(re.compile(r"Trial ends on \d{1,2} [A-Z][a-z]+ \d{4}"))
    expect(main(page)).to_contain_text(f"1 of {PRO_SEATS} seats used")
    expect(main(page)).to_contain_text("Export reports")
    journal.step("account on pro")


def invite_until_the_seat_limit(page: Page, server: Server, journal: Journal) -> int:
    """Invite people until the page explains the seat limit; return how many got in."""
    page.goto(server.url + "/account/members")
    expect(main(page)).to_contain_text(f"1 of {PRO_SEATS} seats used on Pro")
    refused = page.locator('[data-reason="seat_limit_reached"][role="alert"]')
    for invited in range(PRO_SEATS + 1):  # the owner holds one seat: one too many
        email = f"member{invited + 1}@rockets.example"
        page.get_by_label("E-mail", exact=True).fill(email)
        page.get_by_role("button", name="Create invitation").click()
        page.wait_for_load_state()
        if refused.count():
            break
        expect(main(page)).to_contain_text(f"For {email}, as member.")
    else:
        raise AssertionError("the seat limit was never reached")
    expect(refused).to_contain_text("Seat limit reached.")
    expect(refused).to_contain_text(f"Pro allows {PRO_SEATS} seats")
    expect(refused.get_by_role("link", name="Upgrade to Team")).to_be_visible()
    journal.step("seat limit reached")
    # The count comes from this worker's entitlements cache, which may lag behind the
    # invitations another worker just wrote by up to a second: reload until it agrees.
    page.goto(server.url + "/account/members")
    reload_until(page, re.compile(f"{PRO_SEATS} of {PRO_SEATS} seats used"))
    expect(page.locator('[data-reason="seat_limit_reached"]')).to_contain_text(
        "Every seat is taken."
    )
    expect(main(page)).to_contain_text(f"{PRO_SEATS - 1}@rockets.example")
    return invited


def log_in(page: Page, server: Server, email: str, password: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def open_account_in_console(page: Page, server: Server, organisation: str) -> str:
    """Find the account in the console; return its Stripe subscription id."""
    page.goto(server.url + "/admin")
    expect(main(page)).to_contain_text("webhook events failed in the last 24 hours")
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_label(re.compile("^Name, slug")).fill(organisation)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=organisation).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(organisation)
    subscriptions = page.locator("section", has=page.get_by_role("heading", name="Subscriptions"))
    expect(subscriptions).to_contain_text("trialing")  # the demo's Pro starts with a trial
    found = re.search(r"\bsub_\w+", subscriptions.inner_text())
    assert found, subscriptions.inner_text()
    return found.group(0)


def grant_exempt_tier(page: Page, reason: str) -> None:
    page.get_by_label("Tier", exact=True).select_option("staff")
    page.get_by_label("Reason (kept in the audit log)").fill(reason)
    page.get_by_role("button", name="Grant the tier").click()
    expect(page.locator(".flash")).to_contain_text("Granted staff to")
    expect(main(page)).to_contain_text(f"Active grant: Staff — {reason}")
    # "Entitlements now" may come from another worker's cache for up to a second.
    reload_until(page, re.compile(r"Effective tier\s+Staff"))


def set_pro_lookup_key(page: Page, server: Server, lookup_key: str) -> None:
    page.goto(server.url + "/admin/tiers")
    page.get_by_role("link", name="Pro", exact=True).first.click()
    field = page.get_by_label("Stripe price lookup key")
    field.fill(lookup_key)
    page.get_by_role("button", name="Save the tier").click()
    expect(page.locator(".flash")).to_contain_text("Tier pro saved.")
    expect(page.get_by_label("Stripe price lookup key")).to_have_value(lookup_key)


def deliver_stripe_event(server: Server, subscription_id: str) -> httpx.Response:
    """Send the server a correctly signed Stripe event about the subscription, as Stripe."""
    payload = json.dumps(
        {
            "id": f"evt_e2e_{uuid.uuid4().hex[:12]}",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": int(time.time()),
            "data": {"object": {"id": subscription_id, "object": "subscription"}},
        }
    )
    signature = stripe.WebhookSignature.generate_signature_header(
        payload, SANDBOX_STRIPE_WEBHOOK_SECRET
    )
    return httpx.post(
        server.url + "/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        timeout=30,
    )


def test_sign_up_pay_invite_then_staff_grants_and_replays(
    server: Server, browser_page: Page, journal: Journal
) -> None:
    page = browser_page
    complaints = watch_csp(page)
    organisation = "Rockets " + uuid.uuid4().hex[:6]

    sign_up(page, server, "olive@rockets.example", organisation)
    journal.step("signed up")
    choose_pro_and_pay(page, server, journal)
    assert invite_until_the_seat_limit(page, server, journal) == PRO_SEATS - 1

    page.get_by_role("button", name="Log out").click()
    expect(main(page)).to_contain_text("You are logged out.")
    journal.step("logged out")

    log_in(page, server, server.staff_email, server.staff_password)
    subscription_id = open_account_in_console(page, server, organisation)
    journal.step("console account")
    reason = "Design partner: free during the pilot " + uuid.uuid4().hex[:6]
    grant_exempt_tier(page, reason)
    journal.step("exempt tier granted")

    page.get_by_role("link", name="Audit log", exact=True).click()
    granted = page.locator("tr", has_text="subscription.granted").first
    expect(granted).to_contain_text(server.staff_email)
    expect(page.locator("main")).to_contain_text(reason)
    journal.step("audit log")

    # A catalog mistake: Pro no longer carries the price Stripe bills the account for.
    set_pro_lookup_key(page, server, PRO_LOOKUP_KEY + "_retired")
    delivered = deliver_stripe_event(server, subscription_id)
    assert delivered.status_code == 500, delivered.text
    assert delivered.json()["error"] == "webhook_failed", delivered.text

    page.goto(server.url + "/admin/events?status=failed")
    failed = page.locator("tbody tr", has_text="customer.subscription.updated")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("unknown_tier: no tier has the Stripe price lookup key")
    expect(failed).to_contain_text(PRO_LOOKUP_KEY)
    journal.step("failed event")
    failed.get_by_role("link").first.click()
    event_url = page.url
    expect(main(page)).to_contain_text("Last error")

    set_pro_lookup_key(page, server, PRO_LOOKUP_KEY)
    page.goto(event_url)
    page.get_by_role("button", name="Replay this event").click()
    expect(page.locator(".flash")).to_contain_text("replayed: processed")
    expect(main(page).locator(".status")).to_have_text("processed")
    expect(main(page)).not_to_contain_text("Last error")
    journal.step("event replayed")

    page.goto(server.url + "/admin/events?status=failed")
    expect(page.locator("tbody")).to_contain_text("No events match.")
    assert complaints == []

"""The plan-change journey in headless Chromium, against a real server and its sandbox.

A customer on Pro (its trial ended) upgrades to Team after seeing Stripe's preview of the
amount, cancels at the period end, resumes, switches to yearly billing, reads its invoices,
then downgrades back to Pro at the period end; the account page lists exactly one renewing
subscription at each step, and Stripe holds only one.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from .conftest import Journal, Server
from .test_journey import choose_pro_and_pay, main, reload_until, sign_up, watch_csp


def renewing(page: Page) -> Page:
    return page.locator('li.subscription[data-ending="no"]')


def test_upgrade_with_the_preview_cancel_resume_and_downgrade(
    server: Server, browser_page: Page, journal: Journal
) -> None:
    page = browser_page
    complaints = watch_csp(page)
    suffix = uuid.uuid4().hex[:6]
    sign_up(page, server, "ula@upgrades.example", f"Upgrades {suffix}")
    choose_pro_and_pay(page, server, journal)
    expect(renewing(page)).to_have_count(1)
    # Pro starts with a trial, and a change during a trial prorates nothing (Stripe charges
    # nothing for it): end the trial first, as if its days had passed.
    ended = server.tiergate("sandbox", "advance", f"upgrades-{suffix}", "--to", "trial_end")
    assert ended.returncode == 0, ended.stdout + ended.stderr
    reload_until(page, re.compile(r"Pro, renews on"))

    page.goto(server.url + "/pricing")
    team = page.locator("article", has=page.get_by_role("heading", name="Team", exact=True))
    team.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"/billing/change/team"))
    # Team $49 less Pro $19 for the month just paid: about $30 on the next invoice.
    expect(main(page)).to_contain_text(re.compile(r"\$(29\.\d\d|30)\b"))
    expect(main(page)).to_contain_text("Pro (monthly) → Team (monthly)")
    journal.step("preview")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.locator(".flash")).to_contain_text("Your plan is now Team.")
    reload_until(page, re.compile(r"Team, renews on"))
    expect(renewing(page)).to_have_count(1)
    expect(renewing(page)).to_contain_text("Team")
    journal.step("upgraded")

    page.get_by_role("button", name="Cancel at period end").click()
    expect(page.locator(".flash")).to_contain_text("Team is set to end")
    expect(renewing(page)).to_have_count(0)
    expect(page.locator('li.subscription[data-ending="yes"]')).to_contain_text("ends on")
    journal.step("cancelled")

    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".flash")).to_contain_text("Team continues")
    expect(renewing(page)).to_have_count(1)
    journal.step("resumed")

    page.goto(server.url + "/pricing?interval=year")
    team = page.locator("article", has=page.get_by_role("heading", name="Team", exact=True))
    team.get_by_role("button", name="Switch to yearly billing").click()
    expect(main(page)).to_contain_text("Team (monthly) → Team (yearly)")
    # Stripe invoices an interval change at once: the page says what is due now.
    expect(main(page)).to_contain_text("less the unused time of your current plan")
    journal.step("interval preview")
    page.get_by_role("button", name="Confirm the change").click()
    reload_until(page, re.compile(r"Team \(yearly\), renews on"))
    expect(renewing(page)).to_have_count(1)
    journal.step("yearly")

    page.get_by_role("link", name="Invoices and receipts").click()
    invoices = main(page).locator("table tbody tr")
    # The first payment (the trial's, $0), the end of the trial, and the change of interval,
    # which Stripe invoices at once.
    expect(invoices).to_have_count(3)
    expect(invoices.first).to_contain_text("Paid")
    journal.step("invoices")
    page.go_back()

    page.goto(server.url + "/pricing")
    pro = page.locator("article", has=page.get_by_role("heading", name="Pro", exact=True))
    pro.get_by_role("button").first.click()
    expect(main(page)).to_contain_text("Nothing is charged now")
    page.get_by_role("button", name="Schedule the change").click()
    expect(page.locator(".flash")).to_contain_text("Your plan changes to Pro")
    expect(renewing(page)).to_have_count(1)
    expect(renewing(page)).to_contain_text("changes to Pro")
    journal.step("downgrade scheduled")

    page.get_by_role("button", name="Manage", exact=True).click()
    expect(page).to_have_url(re.compile(r"/_sandbox/stripe/portal/"))
    expect(main(page).locator("article")).to_have_count(1)
    expect(main(page).locator("article")).to_contain_text("Status: active")
    journal.step("one subscription at Stripe")
    assert complaints == []

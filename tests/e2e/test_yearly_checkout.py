"""On a phone-sized screen: choose yearly on /pricing, pay with a trial, see the invoice."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from .conftest import Journal, Server
from .test_journey import main, reload_until, sign_up, watch_csp

PHONE = {"width": 375, "height": 740}


def fits_the_screen(page: Page) -> bool:
    """True when nothing makes the page scroll sideways at this width."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_yearly_pro_with_a_trial_on_a_phone(
    server: Server, browser_page: Page, journal: Journal
) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    complaints = watch_csp(page)
    sign_up(page, server, f"yara-{uuid.uuid4().hex[:6]}@yearly.example", "Yearly Ltd")

    page.goto(server.url + "/pricing")
    pro = page.locator("article", has=page.get_by_role("heading", name="Pro", exact=True))
    expect(pro).to_contain_text("$19/mo")
    expect(pro).to_contain_text("or $190/yr billed yearly")
    expect(pro).to_contain_text("14-day free trial")
    assert fits_the_screen(page)
    journal.step("pricing monthly")

    page.get_by_role("link", name="Yearly").click()
    expect(page).to_have_url(re.compile(r"/pricing\?interval=year"))
    expect(pro.locator(".tier-price")).to_have_text("$190/yr")
    expect(pro).to_contain_text("Billed yearly")
    assert fits_the_screen(page)
    journal.step("pricing yearly")

    pro.get_by_role("button", name="Upgrade to Pro").click()
    expect(page).to_have_url(re.compile(r"/_sandbox/stripe/checkout/"))
    expect(main(page)).to_contain_text("$190.00 per year")
    expect(main(page)).to_contain_text("Free for 14 days")
    journal.step("sandbox checkout")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account\?.*checkout=done"))
    reload_until(page, re.compile(r"Pro.*, free trial"))
    expect(main(page)).to_contain_text(re.compile(r"Trial ends on \d{1,2} [A-Z][a-z]+ \d{4}"))
    journal.step("account on a trial")

    page.get_by_role("link", name="Invoices and receipts").click()
    rows = page.locator("table.invoices tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("$0")  # the trial's first invoice
    expect(rows.first).to_contain_text("Paid")
    assert fits_the_screen(page)
    journal.step("invoices")
    assert complaints == []

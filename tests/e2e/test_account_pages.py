"""The members page in a 375 px wide Chromium: nothing wider than the screen; copy works.

An owner on Pro invites an address long enough to break a layout, sees the link once after
the redirect, copies it with the button (static JavaScript: the CSP forbids inline
scripts), and a reload shows the page without the link and without inviting again.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Journal, Server
from .test_journey import choose_pro_and_pay, main, sign_up, watch_csp

REFUSE_CLIPBOARD = """() => {
    navigator.clipboard.writeText = () =>
        Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
}"""
LONG = "someone.with.a.really-long-address.for-testing@subdomain.example-company.example"


def test_members_page_fits_a_phone_and_copies_the_link(
    server: Server, browser_page, journal: Journal
) -> None:
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    complaints = watch_csp(page)
    sign_up(page, server, "owner@phone.example", "Phone Co")
    choose_pro_and_pay(page, server, journal)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(server.url + "/account/members")
    page.get_by_label("E-mail", exact=True).fill(LONG)
    page.get_by_role("button", name="Create invitation").click()
    expect(page).to_have_url(re.compile(r"/account/members(\?|$)"))  # redirected: no re-post
    link = page.locator("#invite-link")
    expect(link).to_have_value(re.compile(r"/invitations/"))
    journal.step("invitation link at 375 px")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the members page is {width} px wide on a 375 px screen"

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    # A browser may refuse the clipboard API (a permission, an unfocused page): the button
    # falls back to copying the selected field.
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # its label is back
    page.evaluate("navigator.clipboard.writeText('')")
    page.evaluate(REFUSE_CLIPBOARD)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()

    page.reload()
    expect(main(page)).to_contain_text(LONG)  # listed as pending, once
    expect(page.locator("#invite-link")).to_have_count(0)
    assert main(page).inner_text().count(LONG) == 1
    assert complaints == []

"""In headless Chromium against a real server: sign up, confirm the address from the demo's
sent e-mail page, land on the account, change the name on the profile, log out everywhere."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from ..e2e.conftest import Server, browser_page, server  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery staple"


def test_sign_up_confirm_and_edit_the_profile(server: Server, browser_page: Any) -> None:  # noqa: F811
    page = browser_page
    page.goto(server.url + "/signup")
    page.get_by_label("E-mail").fill("olive@example.test")
    page.get_by_label("Organisation name").fill("Olive Oils")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("body")).to_contain_text("we have sent you a message")

    page.goto(server.url + "/outbox")
    page.get_by_role("link", name="Confirm your e-mail address").click()
    page.locator("main a[href*='/verify-email/']").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("body")).to_contain_text("your e-mail address is confirmed")

    page.get_by_label("E-mail").fill("olive@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account$"))

    page.goto(server.url + "/profile")
    expect(page.locator("main")).to_contain_text("olive@example.test — confirmed")
    page.get_by_label("Your name").fill("Olive Owner")
    page.get_by_role("button", name="Save the name").click()
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.locator("body")).to_contain_text("Your name is saved.")
    page.reload()  # after the redirect a reload re-submits nothing
    expect(page.locator("body")).not_to_contain_text("Your name is saved.")
    expect(page.get_by_label("Your name")).to_have_value("Olive Owner")

    page.get_by_role("button", name="Log out everywhere").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(server.url + "/profile")
    expect(page).to_have_url(re.compile(r"/login\?next="))

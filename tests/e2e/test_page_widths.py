"""Every page fits a phone (375×812) and a desktop (1280×800), long names included.

One server and one Chromium for the whole module. The demo catalog gets an account, a user,
a tier and a permission whose names are as long as their columns allow and have no space to
break at; every page is then opened at both sizes and must not be wider than the viewport
(``document.documentElement.scrollWidth <= innerWidth``). A screenshot of each page at each
size is saved under $TIERGATE_ARTIFACTS_DIR (or the test's tmp directory), printed at the end.
The tests run in file order: the customer's purchase makes the events the admin pages list.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tiergate.accounts.models import Membership
from tiergate.accounts.seats import add_member, invite_member
from tiergate.accounts.services import create_account
from tiergate.catalog.services import (
    create_permission,
    create_tier,
    grant_permission,
    update_tier,
)
from tiergate.db import begin_write_transaction, db, request_transaction
from tiergate.standalone.users import User, create_user

from ..accounts.factories import PASSWORD, SYSTEM
from ..conftest import make_app
from .conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    Server,
    free_port,
    run_tiergate,
    server_env,
    skip_unless_chromium,
    stop,
    tiergate_command,
    wait_until_healthy,
)

SIZES = {"phone": (375, 812), "desktop": (1280, 800)}
#: As long as each column allows, with nothing to break at.
ACCOUNT_NAME = ("Organisation" * 11)[:128]
USER_NAME = ("Username" * 16)[:128]
PERMISSION_NAME = ("Permission" * 13)[:128]
TIER_NAME = ("Tiername" * 8)[:64]
OWNER_EMAIL = "owner@long.test"
MEMBER_EMAIL = ("member" * 10) + "@long.test"
TIER_KEY = "long"
TEAM_OWNER_EMAIL = "owner@big-team.test"
BIG_TEAM = 120
_WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


@dataclass
class Site:
    """The served site with long names, the invitation's token and the pages seen so far."""

    server: Server
    invitation_token: str
    browser: Browser
    shots: Path
    too_wide: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def check(self, page: Page, name: str) -> None:
        """Photograph the page at each size; note it when it is wider than the viewport."""
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(50)  # one frame for the new layout
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            page.screenshot(path=str(self.shots / f"{slug}-{size}.png"), full_page=True)
            if scroll_width > page.evaluate("window.innerWidth"):
                widest = ", ".join(page.evaluate(_WIDEST))
                self.too_wide.append(f"{name} at {width}px: {scroll_width}px wide ({widest})")
        self.seen.append(name)

    def open(self, page: Page, path: str, name: str, status: int = 200) -> None:
        """Go to ``path``, expect ``status``, and check the page."""
        response = page.goto(self.server.url + path)
        assert response is not None and response.status == status, (path, response)
        self.check(page, name)


def add_long_names(env: dict[str, str]) -> str:
    """Add the long-named tier, permission, user, account and members; return an invite token."""
    app = make_app(env["TIERGATE_DATABASE_URL"], TIERGATE_SANDBOX=True)
    with app.app_context():
        with request_transaction():
            begin_write_transaction()
            create_permission("long.permission", PERMISSION_NAME, "A permission with a long name.")
            create_tier(
                TIER_KEY,
                TIER_NAME,
                rank=15,
                user_limit=10,
                billing_provider="stripe",
                stripe_lookup_key="tiergate_long_monthly",
                fallback_price="$29",
            )
            grant_permission(TIER_KEY, "long.permission")
            grant_permission(TIER_KEY, "reports.view")
            # Room on the free plan for a member and an invitation beside the owner.
            update_tier("free", user_limit=3)
        with request_transaction():
            begin_write_transaction()
            owner = create_user(
                OWNER_EMAIL, password=PASSWORD, display_name=USER_NAME, actor=SYSTEM
            )
            account = create_account(ACCOUNT_NAME, slug="long", owner=owner, actor=SYSTEM)
            member = create_user(MEMBER_EMAIL, display_name=USER_NAME, actor=SYSTEM)
        for step in (
            lambda: add_member(account, member, actor=SYSTEM),
            lambda: invite_member(account, "invitee" * 8 + "@long.test", actor=SYSTEM),
        ):
            with request_transaction():
                begin_write_transaction()
                done = step()
        add_big_team()
        db.engine.dispose()
    _, token = done
    return token


def add_big_team() -> None:
    """An account of BIG_TEAM members (rows written directly): its lists have several pages."""
    with request_transaction():
        begin_write_transaction()
        owner = create_user(TEAM_OWNER_EMAIL, password=PASSWORD, actor=SYSTEM)
        team = create_account("Big Team", slug="big-team", owner=owner, actor=SYSTEM)
        emails = [f"teammate{n:03d}@long.test" for n in range(BIG_TEAM)]
        db.session.execute(sa.insert(User), [{"email": email} for email in emails])
        ids = db.session.scalars(sa.select(User.id).where(User.email.in_(emails)))
        db.session.execute(
            sa.insert(Membership),
            [{"account_id": team.id, "user_id": id_, "role": "member"} for id_ in ids],
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo with long names, served by `tiergate serve`, and one headless Chromium."""
    skip_unless_chromium()
    tmp = tmp_path_factory.mktemp("page-widths")
    database = tmp / "widths.sqlite3"
    env = server_env(database)
    prepared = run_tiergate(["demo", "--no-serve"], env)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    credentials = re.search(r"staff e-mail:\s+(\S+)\n\s+staff password:\s+(\S+)\n", prepared.stdout)
    assert credentials, prepared.stdout
    token = add_long_names(env)
    shots = Path(os.environ.get("TIERGATE_ARTIFACTS_DIR") or tmp) / "page-widths"
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*tiergate_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_healthy(process, url, log)
        server = Server(url, credentials.group(1), credentials.group(2), env, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield Site(server, token, browser, shots)
            finally:
                browser.close()
    finally:
        stop(process)
        print(f"\npage screenshots: {shots}")


@pytest.fixture
def page(site: Site) -> Iterator[Page]:
    """A fresh browser context (its own cookies) of the module's Chromium."""
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    context = site.browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(site: Site, page: Page, email: str, password: str) -> None:
    page.goto(site.server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def assert_all_fit(site: Site, before: int) -> None:
    found = site.too_wide[before:]
    assert not found, "pages wider than the viewport:\n" + "\n".join(found)


def tier_card(page: Page, name: str) -> Any:
    return page.locator("article", has=page.get_by_role("heading", name=name, exact=True))


def test_visitor_pages_fit(site: Site, page: Page) -> None:
    before = len(site.too_wide)
    site.open(page, "/pricing", "pricing (visitor)")
    site.open(page, "/login", "log in")
    site.open(page, "/signup", "sign up")
    site.open(page, f"/invitations/{site.invitation_token}", "invitation")
    site.open(page, "/no/such/page", "error 404", status=404)
    site.open(page, "/pricing?x=%00", "error 400", status=400)
    assert_all_fit(site, before)


def test_customer_pages_fit(site: Site, page: Page) -> None:
    before = len(site.too_wide)
    log_in(site, page, OWNER_EMAIL, PASSWORD)
    site.open(page, "/pricing", "pricing (owner)")
    tier_card(page, "Community").get_by_role("button", name="Upgrade to Community").click()
    expect(page).to_have_url(re.compile(r"/_sandbox/whop/checkout/"))
    expect(page.locator("h1")).to_have_text("Pay for Community")
    site.check(page, "sandbox Whop checkout")

    page.goto(site.server.url + "/pricing")
    tier_card(page, TIER_NAME).get_by_role("button", name=f"Upgrade to {TIER_NAME}").click()
    expect(page).to_have_url(re.compile(r"/_sandbox/stripe/checkout/"))
    site.check(page, "sandbox Stripe checkout")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/account\?.*checkout=done"))
    expect(page.locator("main")).to_contain_text(TIER_NAME)
    site.check(page, "account")
    site.open(page, "/account/members", "members")
    site.open(page, "/account/billing", "invoices")
    site.open(page, "/billing/change/pro?interval=month", "billing confirm")
    page.goto(site.server.url + "/account")
    page.get_by_role("button", name=re.compile("Manage billing")).first.click()
    expect(page).to_have_url(re.compile(r"/_sandbox/stripe/portal/"))
    site.check(page, "sandbox Stripe portal")
    site.open(page, "/admin", "error 403", status=403)
    assert_all_fit(site, before)


def test_admin_pages_fit(site: Site, page: Page) -> None:
    before = len(site.too_wide)
    log_in(site, page, site.server.staff_email, site.server.staff_password)
    site.open(page, "/admin", "admin dashboard")
    site.open(page, "/admin/accounts", "admin accounts")
    page.get_by_role("link", name=ACCOUNT_NAME).first.click()
    expect(page.locator("h1")).to_contain_text(ACCOUNT_NAME)
    site.check(page, "admin account")
    site.open(page, "/admin/tiers", "admin tiers")
    page.get_by_role("link", name=TIER_NAME).first.click()
    expect(page).to_have_url(re.compile(r"/admin/tiers/\d+$"))
    site.check(page, "admin tier form")
    site.open(page, "/admin/tiers/new", "admin new tier")
    site.open(page, "/admin/permissions", "admin permissions")
    site.open(page, "/admin/events", "admin events")
    page.locator("main table a[href*='/admin/events/']").first.click()
    expect(page).to_have_url(re.compile(r"/admin/events/\d+$"))
    site.check(page, "admin event")
    site.open(page, "/admin/audit", "admin audit")
    assert_all_fit(site, before)


def test_paged_lists_fit(site: Site, page: Page) -> None:
    """The members of a large team, 100 a page, for its owner and on the console."""
    before = len(site.too_wide)
    log_in(site, page, TEAM_OWNER_EMAIL, PASSWORD)
    site.open(page, "/account/members", "members, first page")
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"/account/members\?.*after="))
    expect(page.locator("main")).to_contain_text("teammate119@long.test")
    site.check(page, "members, next page")
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("main")).to_contain_text("teammate000@long.test")
    page.context.clear_cookies()
    log_in(site, page, site.server.staff_email, site.server.staff_password)
    site.open(page, "/admin/accounts?q=big-team", "admin account search")
    page.get_by_role("link", name="Big Team").click()
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("main")).to_contain_text("teammate119@long.test")
    site.check(page, "admin account, next page of members")
    assert_all_fit(site, before)

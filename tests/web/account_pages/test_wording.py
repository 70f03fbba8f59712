"""Customer wording on /account, /account/members and /account/billing (demo catalog).

No permission key, slug, exception class name or ISO timestamp in what a person reads; a
plain member sees none of the actions only owners and admins can take.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tiergate import errors
from tiergate.accounts import apikeys, members, seats
from tiergate.accounts.models import Account
from tiergate.accounts.seats import invite_member
from tiergate.catalog import services as catalog
from tiergate.catalog.models import Permission
from tiergate.db import begin_write_transaction, db, utcnow

from ...accounts.factories import SYSTEM, subscribe
from ...browsing import log_in
from .conftest import SLUG
from .visible import visible_text

PAGES = (f"/account?account={SLUG}", f"/account/members?account={SLUG}")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}")


def error_class_names() -> set[str]:
    names = set()
    for module in (errors, seats, members, apikeys):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Exception):
                names.add(value.__name__)
    return names | {"Traceback", "Exception"}


def assert_customer_wording(page: str) -> None:
    shown = visible_text(page)
    # A key that is one plain word ("projects") is also what the page says in prose: only
    # keys with a separator ("projects.create") can be told apart from words.
    keys = [
        key for key in db.session.scalars(sa.select(Permission.key)) if "." in key or "_" in key
    ]
    assert keys
    for key in keys:
        assert key not in shown, key
    assert SLUG not in shown
    for name in error_class_names():
        assert not re.search(rf"\b{name}\b", shown), name
    assert not ISO.search(shown), ISO.search(shown)


@pytest.fixture
def busy_widgets(widgets):
    """Acme Widgets with a pending invitation and a trial ending in a week."""
    invite_member(widgets, "pending@acme.test", actor=SYSTEM)
    db.session.commit()
    return widgets


@pytest.mark.parametrize("who", ["owner@acme.test", "admin@acme.test", "member@acme.test"])
def test_account_pages_speak_to_customers(client, busy_widgets, who) -> None:
    log_in(client, who)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_customer_wording(response.get_data(as_text=True))
    shown = visible_text(client.get(PAGES[0]).get_data(as_text=True))
    assert "Create projects" in shown  # permissions by their names
    assert "Use the API" in shown


def test_the_invoices_page_speaks_to_customers(client, busy_widgets) -> None:
    log_in(client, "owner@acme.test")
    response = client.get(f"/account/billing?account={SLUG}")
    assert_customer_wording(response.get_data(as_text=True))


def test_dates_are_in_words(client, busy_widgets) -> None:
    log_in(client, "owner@acme.test")
    renews = utcnow() + timedelta(days=30)
    shown = visible_text(client.get(PAGES[0]).get_data(as_text=True))
    assert f"renews on {renews.day} {renews:%B %Y}" in shown
    expires = utcnow() + timedelta(days=7)
    members_page = visible_text(client.get(PAGES[1]).get_data(as_text=True))
    assert f"{expires.day} {expires:%B %Y}" in members_page


def test_a_member_sees_no_owner_actions(client, busy_widgets) -> None:
    log_in(client, "member@acme.test")
    account = client.get(PAGES[0]).get_data(as_text=True)
    team = client.get(PAGES[1]).get_data(as_text=True)
    for control in ("Manage billing", "Cancel at period end", "Attach license key"):
        assert control not in account
    assert "/account/api-keys" not in account
    for control in ("Remove…", "Revoke…", "New link", "Create invitation", "Change role"):
        assert control not in team
    assert "pending@acme.test" not in team and "Upgrade to" not in visible_text(team)


def test_an_owner_sees_the_actions(client, busy_widgets) -> None:
    log_in(client, "owner@acme.test")
    account = client.get(PAGES[0]).get_data(as_text=True)
    team = client.get(PAGES[1]).get_data(as_text=True)
    assert "Manage billing" in account and "/account/api-keys" in account
    for control in ("Remove…", "Revoke…", "New link", "Create invitation", "Change role"):
        assert control in team
    assert "pending@acme.test" in team


def test_the_license_key_form_where_whop_sells_except_on_a_stripe_plan(
    client, busy_widgets
) -> None:
    """A license key attaches a Whop purchase made outside the checkout: Free needs the form."""
    log_in(client, "owner@acme.test")
    assert "Attach license key" not in client.get(PAGES[0]).get_data(as_text=True)  # Stripe
    log_in(client, "owner@other.test")
    free = client.get("/account?account=other-co").get_data(as_text=True)
    assert "Attach license key" in free
    other = db.session.scalars(sa.select(Account).where(Account.slug == "other-co")).one()
    subscribe(other, "community", provider="whop", period_end=utcnow() + timedelta(days=30))
    whop = client.get("/account?account=other-co").get_data(as_text=True)
    assert "Attach license key" in whop


def test_no_license_key_form_where_whop_sells_nothing(client, busy_widgets) -> None:
    db.session.rollback()
    begin_write_transaction()
    catalog.update_tier("community", is_customer_facing=False)  # the demo's only Whop plan
    db.session.commit()
    log_in(client, "owner@other.test")
    assert "Attach license key" not in client.get("/account?account=other-co").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ("checkout=done&tier=team", "reload the page if it has not yet"),
        ("checkout=done&tier=pro", "Thank you: your new plan is active."),
        ("checkout=done", "Thank you: your new plan is active."),
    ],
)
def test_the_checkout_notice_ends_once_the_plan_changed(client, busy_widgets, query, notice):
    log_in(client, "owner@acme.test")
    shown = visible_text(client.get(f"/account?account={SLUG}&{query}").get_data(as_text=True))
    assert notice in shown
    if "active" in notice:
        assert "reload the page" not in shown

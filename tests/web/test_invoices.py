"""/account/billing: the provider's invoices (Stripe) and payments (Whop), paged and cached.

The sandbox keeps every invoice it issues (checkout, renewals) and answers the real SDKs'
``invoices.list`` and ``payments.list``; the page reads them through those calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account, Membership
from tiergate.billing.invoices import invoice_cache
from tiergate.billing.prices import TtlCache
from tiergate.billing.providers.sandbox import flows
from tiergate.catalog import services as catalog
from tiergate.db import db

from ..accounts.factories import make_account, make_catalog, make_user
from ..billing.test_sandbox_flow import buy
from ..browsing import log_in_with_form
from ..conftest import app_on_copy, http_client


def priced_catalog() -> None:
    """The test catalog, with list prices (the sandbox charges them)."""
    make_catalog()
    catalog.update_tier("pro", fallback_price="$19/mo")
    catalog.update_tier("enterprise", fallback_price="$99/mo")
    db.session.commit()


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "invoices",
        priced_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL="http://localhost",
    )


@pytest.fixture
def acme(sandbox_app: Flask) -> Account:
    return make_account("acme", owner="owner@acme.test")


@pytest.fixture
def browser(sandbox_app: Flask, acme: Account) -> FlaskClient:
    client = http_client(sandbox_app)
    log_in_with_form(client, "owner@acme.test")
    return client


def renew(account: Account, times: int) -> None:
    """Let the sandbox renew the account's subscription ``times`` times (one invoice each)."""
    db.session.rollback()
    for _ in range(times):
        flows.advance(str(account.id), "renewed")
    db.session.commit()


def invoice_ids(body: str) -> list[str]:
    return re.findall(r'<tr data-invoice="([^"]+)">', body)


def link(body: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', body)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_account_page_links_the_invoices_for_managers(browser, acme) -> None:
    body = browser.get("/account").get_data(as_text=True)
    assert 'href="/account/billing?account=acme">Invoices and receipts</a>' in body
    page = browser.get("/account/billing")
    assert page.status_code == 200
    assert "No invoices yet" in page.get_data(as_text=True)


def test_stripe_invoices_page_newest_first_with_older_and_newer_links(browser, acme) -> None:
    buy(browser, "pro")  # the first invoice: the checkout's
    renew(acme, 11)
    first = browser.get("/account/billing")
    assert first.status_code == 200
    body = first.get_data(as_text=True)
    newest = invoice_ids(body)
    assert len(newest) == 10
    assert "$19" in body and "Paid" in body and "SBX-0012" in body
    hosted = re.search(r'<a href="(http://localhost/_sandbox/stripe/invoices/in_[^"]+)"', body)
    assert hosted, body
    assert browser.get(hosted.group(1).removeprefix("http://localhost")).status_code == 200
    assert link(body, "prev") is None
    older = browser.get(link(body, "next")).get_data(as_text=True)
    assert len(invoice_ids(older)) == 2 and "SBX-0001" in older
    assert set(invoice_ids(older)).isdisjoint(newest)
    assert link(older, "next") is None
    newer = browser.get(link(older, "prev")).get_data(as_text=True)
    assert invoice_ids(newer) == newest


def test_pages_are_cached_briefly(browser, acme) -> None:
    buy(browser, "pro")
    before = invoice_ids(browser.get("/account/billing").get_data(as_text=True))
    renew(acme, 1)
    assert invoice_ids(browser.get("/account/billing").get_data(as_text=True)) == before
    invoice_cache().clear()  # what the expiry does after TIERGATE_INVOICES_CACHE_SECONDS
    assert len(invoice_ids(browser.get("/account/billing").get_data(as_text=True))) == 2


def test_whop_payments_are_listed(browser, acme) -> None:
    buy(browser, "enterprise")
    body = browser.get("/account/billing").get_data(as_text=True)
    assert len(invoice_ids(body)) == 1
    assert "Payments from Whop" in body and "Succeeded" in body and "$99" in body


def test_members_may_not_see_the_invoices(sandbox_app, acme) -> None:
    member = make_user("member@acme.test")
    db.session.add(Membership(account_id=acme.id, user_id=member.id, role="member"))
    db.session.commit()
    client = http_client(sandbox_app)
    log_in_with_form(client, "member@acme.test")
    assert client.get("/account/billing").status_code == 403
    assert "Invoices and receipts" not in client.get("/account").get_data(as_text=True)


def test_a_provider_that_cannot_answer_is_a_message_not_a_crash(app) -> None:
    from ..accounts.factories import subscribe

    make_catalog()
    account = make_account("beta", owner="owner@beta.test")
    subscribe(account, "pro", provider_customer_id="cus_beta")  # Stripe has no key here
    client = http_client(app)
    log_in_with_form(client, "owner@beta.test")
    response = client.get("/account/billing")
    assert response.status_code == 502
    body = response.get_data(as_text=True)
    assert "The invoices could not be loaded: Stripe is not configured" in body


def test_whop_payments_page_by_whops_own_cursors(browser, acme) -> None:
    buy(browser, "enterprise")
    renew(acme, 11)
    body = browser.get("/account/billing").get_data(as_text=True)
    newest = invoice_ids(body)
    assert len(newest) == 10 and link(body, "prev") is None
    older_link = link(body, "next")
    assert older_link is not None
    cursor = parse_qs(urlsplit(older_link).query)["after"][0]
    assert cursor not in newest and not cursor.startswith("pay_")  # page_info's end_cursor
    older = browser.get(older_link).get_data(as_text=True)
    assert len(invoice_ids(older)) == 2 and set(invoice_ids(older)).isdisjoint(newest)
    assert link(older, "next") is None
    assert invoice_ids(browser.get(link(older, "prev")).get_data(as_text=True)) == newest


@pytest.mark.parametrize(
    ("product", "cursor"),
    [("pro", "garbage"), ("pro", "in_" + "x" * 65), ("enterprise", "a" * 129)],
)
def test_a_cursor_not_shaped_like_the_providers_is_refused_without_asking_it(
    browser, acme, product, cursor
) -> None:
    buy(browser, product)
    invoice_cache().clear()
    response = browser.get(f"/account/billing?after={cursor}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This page of invoices does not exist: the page cursor" in body
    assert len(invoice_cache()) == 0  # the provider was not asked, nothing was cached


def test_the_cache_holds_a_bounded_number_of_pages() -> None:
    cache: TtlCache[int, str] = TtlCache(clock=lambda: 0.0, max_entries=3)
    for number in range(5):
        cache.put(number, str(number), 60)
    assert len(cache) == 3
    assert [cache.get(number) for number in range(5)] == [None, None, "2", "3", "4"]

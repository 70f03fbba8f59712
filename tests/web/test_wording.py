"""Customer pages speak the customer's language: names and dates in words, no internals.

With the demo catalog and an account that bought Pro through the sandbox, the text a
customer reads on /pricing, /account, /account/members and /account/billing holds no
permission key, no account slug, no exception class name and no ISO date or timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.accounts.seats import invite_member
from tiergate.accounts.services import create_account
from tiergate.catalog.models import Permission
from tiergate.db import begin_write_transaction, db, request_transaction

from ..accounts.factories import SYSTEM, make_user
from ..billing.test_sandbox_flow import buy, path_of
from ..browsing import csrf_token_of, log_in_with_form
from ..conftest import app_on_copy, http_client

CUSTOMER_PAGES = ("/pricing", "/account", "/account/members", "/account/billing")
SLUG = "rockets-7f3a"
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}[^\s]*)?")
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Refused|Reached|Required)\b|Traceback")


class VisibleText(HTMLParser):
    """The text a reader sees: every text node outside <script>, <style> and <head>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    return " ".join(parser.parts)


@pytest.fixture
def demo_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "wording",
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL="http://localhost",
    )


@pytest.fixture
def customer(demo_app: Flask) -> FlaskClient:
    """The owner of "Acme Rockets", on Pro (paid through the sandbox), with an invitation."""
    loaded = demo_app.test_cli_runner().invoke(args=["catalog", "load", "--demo"])
    assert loaded.exit_code == 0, loaded.output
    with request_transaction():
        begin_write_transaction()
        owner = make_user("owner@rockets.test")
        account_id = create_account("Acme Rockets", slug=SLUG, owner=owner, actor=SYSTEM).id
    client = http_client(demo_app)
    log_in_with_form(client, "owner@rockets.test")
    buy(client, "pro")
    db.session.remove()  # read what the requests wrote
    with request_transaction():
        begin_write_transaction()
        account = db.session.get_one(Account, account_id)
        invite_member(account, "new.hire@rockets.test", actor=SYSTEM)
    return client


def test_customer_pages_show_no_internals(demo_app: Flask, customer: FlaskClient) -> None:
    # A key that is one plain word ("projects") is also what a page says in prose: only keys
    # with a separator ("projects.create") can be told apart from words.
    keys = [
        key for key in db.session.scalars(sa.select(Permission.key)) if "." in key or "_" in key
    ]
    assert "reports.export" in keys  # the demo catalog is loaded
    found: list[str] = []
    for path in CUSTOMER_PAGES:
        response = customer.get(path)
        assert response.status_code == 200, (path, response.status_code)
        text = visible_text(response.get_data(as_text=True))
        found += [f"{path}: permission key {key!r}" for key in keys if key in text]
        if SLUG in text:
            found.append(f"{path}: the account's slug {SLUG!r}")
        found += [f"{path}: exception name {m.group(0)!r}" for m in EXCEPTION_NAME.finditer(text)]
        found += [f"{path}: ISO date {m.group(0)!r}" for m in ISO_DATE.finditer(text)]
    assert not found, "\n".join(found)


def test_the_check_sees_what_a_reader_sees() -> None:
    page = (
        '<html><head><title>reports.export</title></head><body class="x-reports.view">'
        "<p>Export reports</p><script>reports.view</script><p>Since 2026-11-27T10:00</p>"
        "</body></html>"
    )
    text = visible_text(page)
    assert text == "Export reports Since 2026-11-27T10:00"
    assert [m.group(0) for m in ISO_DATE.finditer(text)] == ["2026-11-27T10:00"]
    assert EXCEPTION_NAME.search("SeatLimitReached: account") is not None
    assert EXCEPTION_NAME.search("Errors happen") is None


def test_the_sandbox_whop_checkout_names_the_product_and_its_price(demo_app: Flask) -> None:
    loaded = demo_app.test_cli_runner().invoke(args=["catalog", "load", "--demo"])
    assert loaded.exit_code == 0, loaded.output
    with request_transaction():
        begin_write_transaction()
        owner = make_user("owner@rockets.test")
        create_account("Acme Rockets", slug=SLUG, owner=owner, actor=SYSTEM)
    client = http_client(demo_app)
    log_in_with_form(client, "owner@rockets.test")
    started = client.post(
        "/billing/checkout/community", data={"csrf_token": csrf_token_of(client, "/pricing")}
    )
    assert started.status_code == 303, started.get_data(as_text=True)
    page = client.get(path_of(started.headers["Location"]))
    assert page.status_code == 200
    text = visible_text(page.get_data(as_text=True))
    assert "Pay for Community" in text and "$9.00 / month" in text, text
    assert "prod_" not in text

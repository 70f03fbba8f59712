"""The console's aggregate and search queries on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tiergate.accounts.models import Account, Membership
from tiergate.db import db

from ..accounts.factories import make_account, make_catalog, make_user, subscribe
from ..browsing import log_in_with_form
from ..conftest import http_client
from .support import text
from .test_queries import add_audit_events, add_events


def test_every_console_page_works_on_each_backend(any_backend_app) -> None:
    make_catalog()
    subscribe(make_account("acme-corp", owner="o@acme.test"), "pro")
    make_account("globex")
    make_user("staff@tiergate.test", staff=True)
    add_events(0, 30)
    add_audit_events(0, 5)
    db.session.commit()
    client = http_client(any_backend_app)
    log_in_with_form(client, "staff@tiergate.test")

    dashboard = text(client.get("/admin"))
    assert re.search(r"<tr><td>Pro</td><td class=\"num\">1</td></tr>", dashboard)
    assert re.search(r"<tr><td>Free</td><td class=\"num\">1</td></tr>", dashboard)
    assert '<strong id="failed-24h">' in dashboard
    assert "Acme-Corp" in text(client.get("/admin/accounts?q=ACME"))
    assert "Globex" not in text(client.get("/admin/accounts?q=o%40acme"))
    assert "Acme-Corp" in text(client.get("/admin/accounts?q=o%40acme"))
    assert not re.findall(r'href="/admin/accounts/\d+"', text(client.get("/admin/accounts?q=_")))
    failed = text(client.get("/admin/events?status=failed&type=CUSTOMER.SUBSCRIPTION"))
    assert len(re.findall(r'href="/admin/events/\d+"', failed)) == 8  # every fourth of 30
    audit = text(client.get("/admin/audit?actor=bulk&action=account."))
    assert "5 rows on this page" in audit and 'rel="next"' not in audit
    # The account's page: its trail (one indexed query per kind of target), its members paged
    # by (role, id) row values, which each backend compares.
    acme = db.session.scalar(sa.select(Account).where(Account.slug == "acme-corp"))
    assert acme is not None
    owner = db.session.scalar(sa.select(Membership.id).where(Membership.account_id == acme.id))
    detail = text(client.get(f"/admin/accounts/{acme.id}"))
    assert "<td>o@acme.test</td>" in detail
    assert re.search(r"<code>account\.created</code>", detail)
    assert re.search(r"<code>subscription\.\w+</code>", detail)
    assert "<td>o@acme.test</td>" in text(client.get(f"/admin/accounts/{acme.id}?after=0.0"))
    for beyond_any_id in (
        "/admin/events?after=2147483648",
        f"/admin/accounts/{acme.id}?after=0.2147483648",
    ):
        assert client.get(beyond_any_id).status_code == 400, beyond_any_id
    assert client.get("/admin/events?before=2147483647").status_code == 200
    beyond = text(client.get(f"/admin/accounts/{acme.id}?after=0.{owner}"))
    assert "<td>o@acme.test</td>" not in beyond and "No members here." in beyond
    for url in ("/admin/tiers", "/admin/permissions"):
        assert client.get(url).status_code == 200

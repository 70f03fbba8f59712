"""Keyset paging of the console's growing lists and of /account/members: forward and back,
every row once, in order."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tiergate.accounts.models import Membership
from tiergate.db import db
from tiergate.standalone.users import User

from ..browsing import log_in_with_form
from ..conftest import http_client
from .support import text
from .test_queries import add_accounts, add_audit_events, add_events

#: list -> (how to add rows, a pattern capturing one listed row's link)
LISTS = {
    "/admin/accounts?q=bulk": (add_accounts, r'<a href="(/admin/accounts/\d+)">'),
    "/admin/events?provider=stripe": (add_events, r'<a href="(/admin/events/\d+)">'),
    "/admin/audit?action=account.": (add_audit_events, r"<td><code>(account\.created)</code>"),
}


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def _walk(client: FlaskClient, url: str, rel: str, pattern: str) -> list[list[str]]:
    """Follow ``rel`` links from ``url`` to the end; return the rows of each page."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, next_url
        page = text(response)
        pages.append(re.findall(pattern, page))
        next_url = _link(page, rel)
        assert len(pages) < 20, "the links go round in a circle"
    return pages


@pytest.mark.parametrize("url", list(LISTS))
def test_paging_forward_then_back_shows_every_row_once(staff: FlaskClient, cast, url) -> None:
    add_rows, pattern = LISTS[url]
    add_rows(0, 120)
    db.session.commit()
    forward = _walk(staff, url, "next", pattern)
    sizes = [len(rows) for rows in forward]
    assert sizes[:2] == [50, 50] and 20 <= sizes[2] <= 21  # the cast's own audit row too
    if "audit" not in url:  # accounts and events rows are distinct links
        seen = [row for rows in forward for row in rows]
        assert len(seen) == len(set(seen)) == 120
    # From the last page, "Previous page" leads back through the same pages.
    last = staff.get(url)
    for _ in range(2):
        last_url = _link(text(last), "next")
        assert last_url is not None
        last = staff.get(last_url)
    backward = _walk(staff, _link(text(last), "prev") or "", "prev", pattern)
    assert backward == forward[:2][::-1]
    first = text(staff.get(url))
    assert _link(first, "prev") is None  # the first page has no page before it


@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize("path", ["/admin/events", "/admin/audit"])
def test_a_key_that_is_not_a_row_number_is_refused(staff: FlaskClient, cast, path, argument):
    for bad in ("x", "-1", "1.5", "٣", "2147483648", "9" * 40, "9" * 5000):
        response = staff.get(f"{path}?{argument}={bad}")
        assert response.status_code == 400, (path, bad)
        assert f"?{argument}= must be a row number" in text(response)


def test_past_the_end_is_an_empty_page_with_a_way_back(staff: FlaskClient, cast) -> None:
    page = text(staff.get("/admin/events?after=1"))
    assert "No rows here" in page
    assert _link(page, "prev") == "/admin/events"
    accounts = text(staff.get("/admin/accounts?after=" + "z" * 64))
    assert "No rows here" in accounts and _link(accounts, "next") is None
    assert staff.get("/admin/accounts?after=" + "z" * 65).status_code == 400


def test_the_members_page_of_a_large_team_pages_owners_first(console_app, cast) -> None:
    """An account with 230 members shows 100 at a time, every member once, owners first."""
    emails = [f"member{n:03d}@acme.test" for n in range(225)]
    db.session.execute(sa.insert(User), [{"email": email} for email in emails])
    ids = db.session.scalars(sa.select(User.id).where(User.email.in_(emails))).all()
    roles = ["admin" if n % 50 == 0 else "member" for n in range(len(ids))]
    roles[-1] = "owner"  # the newest member is an owner: listed first all the same
    db.session.execute(
        sa.insert(Membership),
        [
            {"account_id": cast.account.id, "user_id": user_id, "role": role}
            for user_id, role in zip(ids, roles, strict=True)
        ],
    )
    db.session.commit()
    owner = http_client(console_app)
    log_in_with_form(owner, cast.emails["owner"])
    url = "/account/members?account=acme"
    pages = _walk(owner, url, "next", r"<td class=\"member-role\">(\w+)</td>")
    assert [len(rows) for rows in pages] == [100, 100, 28]  # 225 + owner, admin, member
    listed = [role for rows in pages for role in rows]
    assert listed == sorted(listed, key=["owner", "admin", "member"].index)
    shown = re.findall(
        r"<td>(member\d{3}@acme\.test)</td>",
        "".join(text(owner.get(link)) for link in _links(owner, url)),
    )
    assert sorted(shown) == emails
    backward = _walk(
        owner,
        _link(text(owner.get(_links(owner, url)[-1])), "prev") or "",
        "prev",
        r"<td class=\"member-role\">(\w+)</td>",
    )
    assert backward == pages[:2][::-1]


def _links(client: FlaskClient, url: str) -> list[str]:
    """The URL of every page of a list, following rel=next from ``url``."""
    links = [url]
    while (found := _link(text(client.get(links[-1])), "next")) is not None:
        links.append(found)
    return links

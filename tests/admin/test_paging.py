"""Keyset paging of the console's growing lists: forward and back, every row once, in order."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from tiergate.db import db

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
    for bad in ("x", "-1", "1.5", "٣", "9" * 40):
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

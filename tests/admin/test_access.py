"""Who may open the console: staff only, on every route, whatever the method."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.catalog.models import Permission, SubscriptionTier
from tiergate.db import db

from ..browsing import csrf_token, log_in_with_form
from ..conftest import http_client
from .support import text

#: Every console route, with ids that exist in the test data (tier 1, permission 1, account 1).
GET_ROUTES = (
    "/admin",
    "/admin/tiers",
    "/admin/tiers/new",
    "/admin/tiers/1",
    "/admin/tiers/1/delete",
    "/admin/permissions",
    "/admin/permissions/new",
    "/admin/permissions/1",
    "/admin/permissions/1/delete",
    "/admin/accounts",
    "/admin/accounts/1",
    "/admin/accounts/1/revoke",
    "/admin/events",
    "/admin/events/replay-failed",
    "/admin/audit",
)
POST_ROUTES = (
    "/admin/tiers/new",
    "/admin/tiers/1",
    "/admin/tiers/1/permissions",
    "/admin/tiers/1/permissions/1/revoke",
    "/admin/tiers/2/delete",
    "/admin/permissions/new",
    "/admin/permissions/1",
    "/admin/permissions/1/delete",
    "/admin/accounts/1/grant",
    "/admin/accounts/1/revoke",
    "/admin/events/1/replay",
    "/admin/events/replay-failed",
)
CUSTOMERS = ("owner", "admin", "member")


def catalog_rows() -> tuple[int, int, list[str]]:
    db.session.rollback()
    tiers = db.session.scalars(sa.select(SubscriptionTier.key).order_by(SubscriptionTier.id))
    permissions = db.session.scalar(sa.select(sa.func.count()).select_from(Permission))
    links = db.session.scalar(
        sa.select(sa.func.count()).select_from(Permission).join(Permission.tiers)
    )
    return permissions or 0, links or 0, list(tiers)


@pytest.mark.parametrize("route", GET_ROUTES)
def test_anonymous_visitors_are_sent_to_log_in(console_app, cast, route) -> None:
    response = http_client(console_app).get(route)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("route", POST_ROUTES)
def test_anonymous_posts_are_sent_to_log_in_and_change_nothing(console_app, cast, route) -> None:
    client = http_client(console_app)
    token = csrf_token(text(client.get("/login")))
    before = catalog_rows()
    response = client.post(route, data={"csrf_token": token, "key": "x", "name": "X"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert catalog_rows() == before


@pytest.mark.parametrize("role", CUSTOMERS)
def test_customers_of_every_role_are_refused_every_page(console_app, cast, role) -> None:
    client = http_client(console_app)
    log_in_with_form(client, cast.emails[role])
    for route in GET_ROUTES:
        assert client.get(route).status_code == 403, route


@pytest.mark.parametrize("role", CUSTOMERS)
def test_customers_of_every_role_cannot_post_and_change_nothing(console_app, cast, role) -> None:
    client = http_client(console_app)
    log_in_with_form(client, cast.emails[role])
    token = csrf_token(text(client.get("/pricing")))  # the log-out form carries one
    before = catalog_rows()
    for route in POST_ROUTES:
        response = client.post(route, data={"csrf_token": token, "key": "x", "name": "X"})
        assert response.status_code == 403, route
    assert catalog_rows() == before


def test_staff_open_every_page(staff, cast) -> None:
    for route in GET_ROUTES:
        response = staff.get(route)
        # The revoke page sends staff back to the account when there is no grant to revoke.
        expected = 302 if route.endswith("/revoke") else 200
        assert response.status_code == expected, route
        # The content security policy allows no inline script or style.
        page = text(response)
        assert "<script" not in page and " style=" not in page, route


def test_a_post_without_the_csrf_token_is_refused(staff) -> None:
    before = catalog_rows()
    response = staff.post("/admin/permissions/new", data={"key": "new.one", "name": "New"})
    assert response.status_code == 400
    assert catalog_rows() == before


def test_only_staff_see_the_admin_link(console_app, cast, staff) -> None:
    link = '<a href="/admin"'
    assert link in text(staff.get("/pricing"))
    assert 'href="/admin" aria-current="page">Admin</a>' in text(staff.get("/admin/tiers"))
    member = http_client(console_app)
    log_in_with_form(member, cast.emails["owner"])
    assert link not in text(member.get("/pricing"))
    assert link not in text(http_client(console_app).get("/pricing"))

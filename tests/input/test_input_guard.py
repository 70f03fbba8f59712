"""Text no backend can store and ids no column holds: refused before any query (F7, F11)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..api.support import World, assert_error_shape, build_world
from ..browsing import csrf_token_of, log_in
from ..conftest import http_client

HUGE = "9" * 26
MAX_DESCRIPTION = 10_000  # tiergate.catalog.schemas.MAX_DESCRIPTION


@pytest.fixture
def world(any_backend_app: Flask) -> World:
    return build_world()


def browser(app: Flask, world: World, who: str) -> tuple[FlaskClient, dict[str, str]]:
    client = http_client(app)
    log_in(client, world.users[who])
    return client, {"X-CSRFToken": csrf_token_of(client, "/pricing")}


def assert_bad_page(response: Any) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert "cannot be stored" in response.get_data(as_text=True)


def test_nul_in_an_api_path_is_400_for_anonymous_callers(
    any_backend_app: Flask, world: World
) -> None:
    client = http_client(any_backend_app)
    body = assert_error_shape(client.get("/api/v1/tiers/%00"), 400, "bad_request")
    assert "URL path" in body["message"]
    assert_error_shape(client.get("/api/v1/tiers/team?x=a%00b"), 400, "bad_request")


def test_nul_in_staff_api_fields_is_400(any_backend_app: Flask, world: World) -> None:
    client = http_client(any_backend_app)
    headers = world.headers("staff_key")
    created = client.post(
        "/api/v1/permissions", json={"key": "nul", "name": "a\x00b"}, headers=headers
    )
    assert_error_shape(created, 400, "bad_request")
    grant = client.put(
        f"/api/v1/accounts/{world.acme.id}/exempt-grant",
        json={"tier": "team", "reason": "x\ud800"},
        headers=headers,
    )
    assert_error_shape(grant, 400, "bad_request")


def test_nul_in_invitations_and_console_filters_is_a_400_page(
    any_backend_app: Flask, world: World
) -> None:
    owner, headers = browser(any_backend_app, world, "owner")
    invited = owner.post(
        "/account/members", data={"email": "a\x00b@example.test", "role": "member"}, headers=headers
    )
    assert_bad_page(invited)
    staff, _ = browser(any_backend_app, world, "staff")
    for url in ("/admin/accounts?q=a%00b", "/admin/audit?actor=%00", "/admin/events?type=%01"):
        assert_bad_page(staff.get(url))
    # Tab, newline and carriage return are text.
    assert staff.get("/admin/accounts?q=a%09b%0d%0a").status_code == 200


def test_ids_beyond_the_integer_columns_are_not_found(any_backend_app: Flask, world: World) -> None:
    owner, headers = browser(any_backend_app, world, "owner")
    for url in (f"/account/members/{HUGE}/remove", f"/account/invitations/{HUGE}/revoke"):
        assert owner.post(url, headers=headers).status_code == 404, url
        assert owner.get(url).status_code in (404, 405), url
    staff, _ = browser(any_backend_app, world, "staff")
    assert staff.get(f"/admin/accounts/{HUGE}").status_code == 404


def test_pages_beyond_any_list_are_empty_pages(any_backend_app: Flask, world: World) -> None:
    staff, _ = browser(any_backend_app, world, "staff")
    for path in ("/admin/accounts", "/admin/audit", "/admin/events", "/admin/tiers"):
        response = staff.get(f"{path}?page=99999999999999999999")
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])


def test_overlong_text_is_a_form_error_not_a_database_error(
    any_backend_app: Flask, world: World
) -> None:
    staff, headers = browser(any_backend_app, world, "staff")
    response = staff.post(
        "/admin/permissions/new",
        data={"key": "long", "name": "Long", "description": "x" * 300_000},
        headers=headers,
    )
    assert response.status_code == 422  # the form again, with the problem next to the field
    assert f"at most {MAX_DESCRIPTION}" in response.get_data(as_text=True)
    too_long = {"key": "long", "name": "Long", "description": "x" * (MAX_DESCRIPTION + 1)}
    api = http_client(any_backend_app).post(
        "/api/v1/permissions", json=too_long, headers=world.headers("staff_key")
    )
    assert_error_shape(api, 422, "validation_error")
    search = staff.get("/admin/accounts?q=" + "x" * 300_000)
    assert search.status_code == 200


def test_json_a_form_cannot_read_is_400(any_backend_app: Flask, world: World) -> None:
    owner, headers = browser(any_backend_app, world, "owner")
    for body in (b'"x"', b"[1]", b"[" * 100_000 + b"]" * 100_000):
        response = owner.post(
            "/account/members", data=body, content_type="application/json", headers=headers
        )
        assert_error_shape(response, 400, "bad_request")

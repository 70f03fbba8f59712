"""Error pages: 400, 403, 404, 405, 413, 429 and 500 in the site's layout, with a way back.

The standalone app answers every error with a page (JSON under /api/ and for JSON callers);
in a host application only tiergate's own blueprints get tiergate's pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from examples.host_app.app.extensions import db as host_db
from flask import Flask, abort
from flask.testing import FlaskClient

from tiergate.db import db

from ..browsing import log_in
from ..conftest import app_on_copy, http_client
from ..host_app.conftest import (  # noqa: F401  (fixtures of the host app's tests)
    GENERATED_ENV_WARNING,
    add_user,
    keep_logging,  # the host's env.py disables every other logger: undone after each test
    migrations_dir,
    ready_sqlite_app,
    sqlite_app,
    sqlite_url,
)
from ..host_app.conftest import log_in as host_log_in
from .support import make_account, make_user, text

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _raise_failure() -> str:
    raise RuntimeError("secret detail of what broke")


@pytest.fixture
def error_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The standalone app with two routes that fail the way no page of tiergate's can on cue."""

    def setup() -> None:
        make_account("acme", owner="owner@acme.test")
        make_user("member@acme.test")
        db.session.commit()

    for app in app_on_copy(tmp_path, sqlite_template, "errors", setup):
        app.config["MAX_CONTENT_LENGTH"] = 2048
        # Rate limiting is a proxy's job (or the log-in throttle's, which keeps its form):
        # a 429 page is what tiergate shows when an application aborts with it.
        app.add_url_rule("/_test/slow-down", "slow_down", lambda: abort(429, retry_after=30))
        app.add_url_rule("/_test/broken", "broken", _raise_failure)
        yield app


@pytest.fixture
def browser(error_app: Flask) -> FlaskClient:
    return http_client(error_app)


def assert_error_page(response, status: int, title: str) -> str:
    """Check the page is the site's layout with the status, its title and a way back."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    body = text(response)
    assert '<header class="site-header">' in body, body[:300]
    assert 'rel="icon"' in body and "tiergate.css" in body
    assert f"Error {status}" in body and f'<h1 id="error-title">{title}</h1>' in body
    assert 'href="/pricing">See the plans</a>' in body and 'href="/">Home page</a>' in body
    assert "Werkzeug" not in body and "Traceback" not in body
    return body


def test_404_and_405_for_unknown_routes_and_methods(browser: FlaskClient) -> None:
    assert_error_page(browser.get("/no/such/page", headers=HTML), 404, "Page not found")
    not_here = browser.put("/pricing", headers=HTML)
    assert_error_page(not_here, 405, "Not allowed here")
    assert set(not_here.headers["Allow"].split(", ")) >= {"GET", "HEAD"}


def test_400_for_input_no_database_can_store_names_the_problem(browser: FlaskClient) -> None:
    body = assert_error_page(browser.get("/pricing?x=%00", headers=HTML), 400, "Bad request")
    assert "query parameter" in body and "cannot be stored" in body


def test_403_for_a_signed_in_visitor_who_is_not_staff(browser: FlaskClient) -> None:
    log_in(browser, "member@acme.test")
    body = assert_error_page(browser.get("/admin", headers=HTML), 403, "Not allowed")
    assert 'href="/account">Go to your account</a>' in body


def test_413_for_a_body_over_the_limit(browser: FlaskClient) -> None:
    response = browser.post("/login", data={"email": "x" * 5000}, headers=HTML)
    assert_error_page(response, 413, "Too large")


def test_429_keeps_retry_after(browser: FlaskClient) -> None:
    response = browser.get("/_test/slow-down", headers=HTML)
    assert_error_page(response, 429, "Too many requests")
    assert response.headers["Retry-After"] == "30"


def test_500_shows_nothing_of_what_broke(error_app: Flask, browser: FlaskClient) -> None:
    error_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    body = assert_error_page(
        browser.get("/_test/broken", headers=HTML), 500, "Something went wrong"
    )
    assert "secret detail" not in body and "RuntimeError" not in body


def test_json_callers_keep_the_json_shape(browser: FlaskClient) -> None:
    api = browser.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json
    assert api.get_json()["error"] == "not_found"
    wants_json = browser.get("/no/such/page", headers={"Accept": "application/json"})
    assert wants_json.status_code == 404
    assert wants_json.get_json() == {"error": "not_found", "message": wants_json.json["message"]}
    assert browser.put("/pricing", headers={"Accept": "application/json"}).json["error"] == (
        "method_not_allowed"
    )


def test_the_favicon_is_served_from_the_package(browser: FlaskClient) -> None:
    icon = browser.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO header with one image
    with browser.get("/assets/favicon.ico") as linked:  # the <link rel=icon> address
        assert linked.status_code == 200 and linked.data == icon.data


@GENERATED_ENV_WARNING
def test_a_host_keeps_its_own_errors_and_tiergates_pages_get_tiergates(
    ready_sqlite_app: Flask,  # noqa: F811
) -> None:
    with ready_sqlite_app.app_context():
        member = add_user("member@example.com")
        host_db.session.commit()
        member_id = member.id
    client = ready_sqlite_app.test_client()
    host_log_in(client, member_id)

    refused = client.get("/staff/admin", headers=HTML)
    assert refused.status_code == 403
    assert "Not allowed" in refused.text and 'id="error-title"' in refused.text
    assert 'id="host-layout"' in refused.text  # tiergate's page inside the host's layout

    missing = client.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404
    assert 'id="host-not-found"' in missing.text and 'id="error-title"' not in missing.text
    assert client.get("/favicon.ico").status_code == 404  # the host's own address

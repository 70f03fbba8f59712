"""Sessions that end: log-out, password change and "log out everywhere" make a saved cookie
anonymous; a log-in starts a new session."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from ..accounts.factories import PASSWORD, make_account
from ..conftest import http_client
from ..standalone.support import post_form
from .conftest import post_on_page

OWNER = "owner@acme.test"


def _logged_in(app: Flask) -> FlaskClient:
    browser = http_client(app)
    data = {"email": OWNER, "password": PASSWORD, "remember": "y"}
    assert post_form(browser, "/login", data).status_code == 302
    return browser


def _copy(app: Flask, browser: FlaskClient) -> FlaskClient:
    """A second browser holding copies of the first one's cookies (a stolen or saved cookie)."""
    copy = http_client(app)
    for name in ("session", "remember_token"):
        cookie = browser.get_cookie(name)
        assert cookie is not None, name
        copy.set_cookie(name, cookie.value)
    return copy


def _anonymous(browser: FlaskClient) -> bool:
    response = browser.get("/profile")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_log_out_makes_a_saved_cookie_anonymous(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _logged_in(mail_app)
    saved = _copy(mail_app, browser)
    assert not _anonymous(saved)
    assert post_form(browser, "/logout", {}).status_code == 302
    assert _anonymous(browser) and _anonymous(saved)
    # GET /logout is a page with the button, never a 405.
    assert http_client(mail_app).get("/logout").status_code == 302


def test_a_password_change_ends_every_other_session(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _logged_in(mail_app)
    saved = _copy(mail_app, browser)
    data = {
        "current_password": PASSWORD,
        "password": "a new long password",
        "confirm": "a new long password",
    }
    changed = post_on_page(browser, "/profile", "/profile/password", data)
    assert (changed.status_code, changed.headers["Location"]) == (303, "/profile")
    assert _anonymous(saved)
    assert not _anonymous(browser)  # this browser stays logged in, in a new session
    # Reloading the page after the post changes nothing more.
    assert browser.get("/profile").status_code == 200
    assert not _anonymous(browser)


def test_log_out_everywhere_ends_every_session(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _logged_in(mail_app)
    other = _logged_in(mail_app)
    saved = _copy(mail_app, other)
    ended = post_on_page(browser, "/profile", "/profile/sessions", {})
    assert (ended.status_code, ended.headers["Location"]) == (303, "/login")
    assert _anonymous(browser) and _anonymous(other) and _anonymous(saved)


def test_log_in_starts_a_new_session(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = http_client(mail_app)
    browser.get("/login")
    with browser.session_transaction() as session:
        session["planted"] = "by an attacker"
    assert post_form(browser, "/login", {"email": OWNER, "password": PASSWORD}).status_code == 302
    with browser.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].endswith(":0")

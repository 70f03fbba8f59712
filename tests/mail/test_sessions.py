"""Sessions that end one by one: log-out ends this browser's session only, "log out
everywhere" and a password change end the others; a saved cookie of an ended session is
anonymous; a log-in starts a new session."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.db import db
from tiergate.standalone.users import UserSession, find_user

from ..accounts.factories import PASSWORD, make_account
from ..browsing import log_in
from ..conftest import http_client
from ..standalone.support import count, post_form
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


def _open_sessions() -> int:
    db.session.rollback()
    query = sa.select(sa.func.count()).where(UserSession.ended_at.is_(None))
    return int(db.session.scalar(query.select_from(UserSession)))


def test_log_out_makes_a_saved_cookie_anonymous(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _logged_in(mail_app)
    saved = _copy(mail_app, browser)
    assert not _anonymous(saved)
    assert post_form(browser, "/logout", {}).status_code == 302
    assert _anonymous(browser) and _anonymous(saved)
    # GET /logout is a page with the button, never a 405.
    assert http_client(mail_app).get("/logout").status_code == 302


def test_log_out_ends_this_session_only(mail_app: Flask):
    make_account("acme", owner=OWNER)
    phone, laptop = _logged_in(mail_app), _logged_in(mail_app)
    laptop_saved = _copy(mail_app, laptop)
    assert _open_sessions() == 2
    assert post_form(phone, "/logout", {}).status_code == 302
    assert _anonymous(phone)
    assert not _anonymous(laptop) and not _anonymous(laptop_saved)
    assert _open_sessions() == 1
    # Logging in again on the phone starts another session; the laptop's goes on.
    again = _logged_in(mail_app)
    assert not _anonymous(again) and not _anonymous(laptop)


def test_a_session_without_a_token_or_with_a_wrong_one_is_anonymous(mail_app: Flask):
    make_account("acme", owner=OWNER)
    user = find_user(OWNER)
    assert user is not None
    for planted in (str(user.id), f"{user.id}:", f"{user.id}:not-a-session", "x:y", ""):
        browser = http_client(mail_app)
        with browser.session_transaction() as session:
            session["_user_id"] = planted
        assert _anonymous(browser), planted
    # The token of another user's session does not name this one.
    make_account("other", owner="other@acme.test")
    other = http_client(mail_app)
    log_in(other, "other@acme.test")
    with other.session_transaction() as session:
        token = session["_user_id"].partition(":")[2]
    browser = http_client(mail_app)
    with browser.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{token}"
    assert _anonymous(browser) and not _anonymous(other)


def test_deleting_the_user_removes_their_sessions(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser, other = _logged_in(mail_app), _logged_in(mail_app)
    assert count(UserSession) == 2
    deleted = post_on_page(browser, "/profile", "/profile/delete", {"current_password": PASSWORD})
    assert deleted.status_code == 303, deleted.get_data(as_text=True)
    assert count(UserSession) == 0
    assert _anonymous(other)


def test_a_password_change_ends_every_other_session(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _logged_in(mail_app)
    saved = _copy(mail_app, browser)
    data = {
        "current_password": PASSWORD,
        "password": "a new long password",
        "confirm": "a new long password",
    }
    other = _logged_in(mail_app)
    changed = post_on_page(browser, "/profile", "/profile/password", data)
    assert (changed.status_code, changed.headers["Location"]) == (303, "/profile")
    assert _anonymous(saved) and _anonymous(other)
    assert not _anonymous(browser)  # this browser stays logged in, in a new session
    assert _open_sessions() == 1
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
    assert _open_sessions() == 0


def test_log_in_starts_a_new_session(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = http_client(mail_app)
    browser.get("/login")
    with browser.session_transaction() as session:
        session["planted"] = "by an attacker"
    assert post_form(browser, "/login", {"email": OWNER, "password": PASSWORD}).status_code == 302
    with browser.session_transaction() as session:
        assert "planted" not in session
        user_id, _, token = session["_user_id"].partition(":")
    user = find_user(OWNER)
    assert user is not None and user_id == str(user.id) and len(token) >= 32

"""Sign-up, log-in, log-out and invitations through the pages, with CSRF protection on.

Every form post carries the token read from the page, as a browser would send it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account, Membership
from tiergate.accounts.seats import invite_member
from tiergate.db import begin_write_transaction, db, utcnow
from tiergate.standalone.users import LoginFailure, User

from ..browsing import csrf_token_of
from ..conftest import http_client, make_app
from .factories import PASSWORD, SYSTEM, make_account, make_catalog, make_user, subscribe


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    make_catalog()
    return http_client(app)


def post_form(client: FlaskClient, path: str, data: dict, *, page: str | None = None) -> object:
    """Post a form with the CSRF token of the page at ``path`` (or at ``page``)."""
    token = csrf_token_of(client, page or path.split("?")[0])
    return client.post(path, data={"csrf_token": token, **data})


def count(model: type) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


SIGNUP = {
    "email": "Ada@Example.TEST",
    "display_name": "Ada",
    "account_name": "Analytical Engines",
    "password": "difference engine",
    "confirm": "difference engine",
}


def test_sign_up_creates_a_user_and_an_owned_account_then_asks_to_log_in(browser: FlaskClient):
    response = post_form(browser, "/signup", SIGNUP)
    # Not logged in on the spot: the answer must not differ for an address already registered.
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Log out" not in browser.get("/pricing").get_data(as_text=True)
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "ada@example.test"))
    assert user is not None and user.password_hash and "difference" not in user.password_hash
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    assert membership.role == "owner"
    assert db.session.get(Account, membership.account_id).slug == "analytical-engines"
    log_in = {"email": SIGNUP["email"], "password": SIGNUP["password"]}
    assert post_form(browser, "/login", log_in).status_code == 302
    page = browser.get("/pricing").get_data(as_text=True)
    assert "Log out" in page and "Ada" in page


def test_the_session_cookie_is_http_only_and_same_site(browser: FlaskClient):
    response = post_form(browser, "/signup", SIGNUP)
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_outside_debug_and_tests_cookies_are_secure(tmp_path):
    production = make_app(f"sqlite:///{tmp_path / 'p.sqlite3'}", TESTING=False)
    for name in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        assert production.config[f"{name}_SECURE"] is True
        assert production.config[f"{name}_HTTPONLY"] is True
        assert production.config[f"{name}_SAMESITE"] == "Lax"


def test_a_form_without_its_csrf_token_is_refused(browser: FlaskClient):
    response = browser.post("/signup", data=SIGNUP)
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)
    assert count(User) == 0


def test_sign_up_errors_are_shown_by_field_and_keep_what_was_typed(browser: FlaskClient):
    data = {**SIGNUP, "password": "short", "confirm": "other"}
    response = post_form(browser, "/signup", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Use at least 8 characters." in page and "The passwords differ." in page
    assert 'value="Analytical Engines"' in page and 'value="Ada@Example.TEST"' in page
    assert "difference engine" not in page and 'value="short"' not in page
    assert count(User) == count(Account) == 0


def test_an_invalid_email_is_reported_on_its_field(browser: FlaskClient):
    response = post_form(browser, "/signup", {**SIGNUP, "email": "ada@"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="email-errors">\s*<li>“ada@” is not a valid e-mail', page)
    assert count(User) == count(Account) == 0


def test_signing_up_with_a_taken_email_changes_nothing(browser: FlaskClient):
    make_user("ada@example.test")
    db.session.commit()
    response = post_form(browser, "/signup", SIGNUP)
    # The same answer as for a new address (tests/standalone/test_signup.py compares them).
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "already exists" not in browser.get("/login").get_data(as_text=True)
    assert count(User) == 1 and count(Account) == 0


def test_two_organisations_with_the_same_name_get_distinct_slugs(app: Flask, browser):
    post_form(browser, "/signup", SIGNUP)
    other = http_client(app)
    post_form(other, "/signup", {**SIGNUP, "email": "bob@example.test"})
    db.session.rollback()
    slugs = set(db.session.scalars(sa.select(Account.slug)))
    assert slugs == {"analytical-engines", "analytical-engines-2"}


def test_log_in_and_go_where_the_user_was_going(browser: FlaskClient):
    make_account("acme", owner="owner@acme.test")
    data = {"email": " OWNER@acme.test ", "password": PASSWORD}
    response = post_form(browser, "/login?next=/pricing", data)
    assert response.status_code == 302 and response.headers["Location"] == "/pricing"
    assert "Log out" in browser.get("/pricing").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.test/x", "https://evil.test/", "/\\evil.test"])
def test_log_in_never_redirects_off_the_site(browser: FlaskClient, target: str):
    make_account("acme", owner="owner@acme.test")
    data = {"email": "owner@acme.test", "password": PASSWORD}
    response = post_form(browser, f"/login?next={target}", data)
    assert response.status_code == 302 and response.headers["Location"] == "/account"


def test_a_wrong_password_is_refused_and_keeps_the_email(browser: FlaskClient):
    make_account("acme", owner="owner@acme.test")
    data = {"email": "owner@acme.test", "password": "wrong password"}
    response = post_form(browser, "/login", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Wrong e-mail or password." in page and 'value="owner@acme.test"' in page
    assert "Log out" not in browser.get("/pricing").get_data(as_text=True)


def _fail_logins(client: FlaskClient, times: int, email: str = "owner@acme.test") -> None:
    for _ in range(times):
        response = post_form(client, "/login", {"email": email, "password": "guess"})
        assert response.status_code == 422


def test_five_failures_block_the_sixth_attempt_even_with_the_right_password(browser):
    make_account("acme", owner="owner@acme.test")
    _fail_logins(browser, 5)
    response = post_form(browser, "/login", {"email": "owner@acme.test", "password": PASSWORD})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "too many failed log-ins" in response.get_data(as_text=True)
    assert "Log out" not in browser.get("/pricing").get_data(as_text=True)


def test_the_limit_is_per_address_and_held_in_the_database(app: Flask, browser, tmp_path):
    make_account("acme", owner="owner@acme.test")
    _fail_logins(browser, 5)
    # Another worker process: a second app on the same database sees the same failures.
    worker = make_app(app.config["TIERGATE_DATABASE_URL"])
    other_worker = http_client(worker)
    data = {"email": "owner@acme.test", "password": PASSWORD}
    assert post_form(other_worker, "/login", data).status_code == 429
    elsewhere = http_client(app)
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert post_form(elsewhere, "/login", data).status_code == 302
    with worker.app_context():
        db.session.remove()
        db.engine.dispose()


def test_failures_leave_the_window_and_a_success_clears_them(browser: FlaskClient):
    make_account("acme", owner="owner@acme.test")
    _fail_logins(browser, 5)
    db.session.rollback()
    db.session.execute(sa.update(LoginFailure).values(created_at=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    data = {"email": "owner@acme.test", "password": PASSWORD}
    assert post_form(browser, "/login", data).status_code == 302
    assert count(LoginFailure) == 0


def test_log_out_needs_a_post_with_the_token(browser: FlaskClient):
    make_account("acme", owner="owner@acme.test")
    post_form(browser, "/login", {"email": "owner@acme.test", "password": PASSWORD})
    # A GET shows a log-out button (never a bare 405) and logs nobody out.
    assert browser.get("/logout").status_code == 200
    assert browser.post("/logout").status_code == 400
    assert "Log out" in browser.get("/pricing").get_data(as_text=True)
    token = csrf_token_of(browser, "/pricing")
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Log out" not in browser.get("/pricing").get_data(as_text=True)


def _invite(account: Account, email: str) -> str:
    begin_write_transaction()
    _, token = invite_member(account, email, actor=SYSTEM)
    db.session.commit()
    return token


@pytest.fixture
def acme(browser: FlaskClient) -> Account:
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro")  # 3 seats
    return account


def test_a_logged_in_user_accepts_an_invitation(browser: FlaskClient, acme: Account):
    make_user("guest@example.test")
    db.session.commit()
    token = _invite(acme, "guest@example.test")
    post_form(browser, "/login", {"email": "guest@example.test", "password": PASSWORD})
    page = browser.get(f"/invitations/{token}").get_data(as_text=True)
    assert "Accept and join Acme" in page
    response = post_form(browser, f"/invitations/{token}", {})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account?account=acme"  # lands on the account
    assert "You joined Acme." in browser.get(response.headers["Location"]).get_data(as_text=True)
    assert count(Membership) == 2
    assert "already used" in browser.get(f"/invitations/{token}").get_data(as_text=True)


def test_an_invitation_for_someone_else_is_not_accepted(browser: FlaskClient, acme: Account):
    make_user("intruder@example.test")
    db.session.commit()
    token = _invite(acme, "guest@example.test")
    post_form(browser, "/login", {"email": "intruder@example.test", "password": PASSWORD})
    page = browser.get(f"/invitations/{token}").get_data(as_text=True)
    assert "this invitation is for guest@example.test" in page
    response = post_form(browser, f"/invitations/{token}", {}, page="/pricing")
    assert response.status_code == 422
    assert count(Membership) == 1


def test_signing_up_through_an_invitation_joins_the_account(browser: FlaskClient, acme):
    token = _invite(acme, "guest@example.test")
    page = browser.get(f"/invitations/{token}").get_data(as_text=True)
    assert "guest@example.test" in page and "Sign up and join" in page
    data = {"display_name": "Guest", "password": "a new password", "confirm": "a new password"}
    response = post_form(browser, f"/invitations/{token}", data)
    assert response.status_code == 302
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "guest@example.test"))
    assert user is not None
    assert db.session.scalar(sa.select(Membership.role).where(Membership.user_id == user.id))
    assert "Log out" in browser.get("/pricing").get_data(as_text=True)


def test_an_existing_user_is_asked_to_log_in_first(browser: FlaskClient, acme: Account):
    make_user("guest@example.test")
    db.session.commit()
    token = _invite(acme, "guest@example.test")
    page = browser.get(f"/invitations/{token}").get_data(as_text=True)
    assert re.search(r'href="/login\?next=/invitations/[^"]+">log in</a>', page)


def test_an_account_over_its_limit_refuses_the_invitation_and_creates_nobody(browser, acme):
    token = _invite(acme, "guest@example.test")
    _invite(acme, "second@example.test")
    subscribe(acme, "pro", status="canceled", updated_at=utcnow())  # back to free: 1 seat
    data = {"display_name": "Guest", "password": "a new password", "confirm": "a new password"}
    response = post_form(browser, f"/invitations/{token}", data)
    assert response.status_code == 409
    assert "seats" in response.get_data(as_text=True)
    assert count(User) == 1 and count(Membership) == 1


def test_unknown_and_expired_invitations(browser: FlaskClient, acme: Account):
    assert browser.get("/invitations/not-a-token").status_code == 404
    begin_write_transaction()
    _, token = invite_member(
        acme, "late@example.test", actor=SYSTEM, now=utcnow() - timedelta(days=8)
    )
    db.session.commit()
    assert "has expired" in browser.get(f"/invitations/{token}").get_data(as_text=True)
    # A page left open before the invitation expired still posts its form.
    data = {"password": "a new password", "confirm": "a new password"}
    response = post_form(browser, f"/invitations/{token}", data, page="/login")
    assert response.status_code == 422
    assert count(User) == 1

"""Sign-up: a verification message whose link verifies, the same answer for a taken address,
every error at once, and log-in landing on the account page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from tiergate.db import db
from tiergate.mail.models import OutgoingMail
from tiergate.standalone.users import find_user

from ..accounts.factories import PASSWORD, make_account, make_user
from ..conftest import http_client
from ..standalone.support import post_form
from .conftest import SMTPServer, body_of, delivered, link_in

SIGNUP = {
    "email": "ada@example.test",
    "display_name": "Ada",
    "account_name": "Analytical Engines",
    "password": "a long new password",
    "confirm": "a long new password",
}


def test_sign_up_sends_a_verification_link_that_verifies(mail_app: Flask, smtp: SMTPServer):
    response = post_form(http_client(mail_app), "/signup", SIGNUP)
    assert response.status_code == 302
    delivered(mail_app)
    [message] = smtp.inbox.to("ada@example.test")
    assert message["Subject"] == "Confirm your e-mail address"
    assert message["From"] == "Tiergate <no-reply@tiergate.test>"
    assert "Confirm my address" in body_of(message, "html")
    db.session.rollback()
    assert not find_user("ada@example.test").is_verified
    # Opened in another browser, not logged in.
    opened = http_client(mail_app).get(link_in(message))
    assert opened.status_code == 303 and opened.headers["Location"] == "/login"
    db.session.rollback()
    assert find_user("ada@example.test").is_verified
    # A forged link verifies nothing.
    forged = http_client(mail_app).get(link_in(message) + "x")
    assert forged.status_code == 400 and "not valid" in forged.get_data(as_text=True)


def test_a_registered_address_gets_the_same_page_and_a_message(mail_app: Flask, smtp: SMTPServer):
    make_user("taken@example.test")
    db.session.commit()
    pages = []
    for email in ("new@example.test", "taken@example.test"):
        browser = http_client(mail_app)
        response = post_form(browser, "/signup", {**SIGNUP, "email": email})
        assert (response.status_code, response.headers["Location"]) == (302, "/login")
        pages.append(browser.get("/login").get_data(as_text=True).split("csrf_token")[0])
    assert pages[0] == pages[1]
    delivered(mail_app)
    [taken] = smtp.inbox.to("taken@example.test")
    assert taken["Subject"] == "You already have an account"
    assert "/forgot-password" in body_of(taken)
    assert smtp.inbox.to("new@example.test")[0]["Subject"] == "Confirm your e-mail address"


def test_sign_up_shows_every_error_at_once(mail_app: Flask):
    data = {"email": "not an address", "account_name": "", "password": "short", "confirm": "x"}
    response = post_form(http_client(mail_app), "/signup", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not a valid e-mail address" in page
    assert "Name your organisation." in page
    assert "Use at least 8 characters." in page
    assert "The passwords differ." in page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0


def test_log_in_lands_on_the_account_page_or_a_safe_next(mail_app: Flask):
    make_account("acme", owner="owner@acme.test")
    login = {"email": "owner@acme.test", "password": PASSWORD}
    assert post_form(http_client(mail_app), "/login", login).headers["Location"] == "/account"
    kept = post_form(http_client(mail_app), "/login?next=/account/members", login)
    assert kept.headers["Location"] == "/account/members"
    unsafe = post_form(http_client(mail_app), "/login?next=//evil.test/x", login)
    assert unsafe.headers["Location"] == "/account"


def test_required_verification_keeps_an_unverified_user_to_the_profile(
    tmp_path, sqlite_template, smtp: SMTPServer
):
    from ..accounts.factories import make_catalog
    from ..conftest import app_on_copy
    from .conftest import mail_config

    config = mail_config(smtp, TIERGATE_REQUIRE_VERIFIED_EMAIL=True)
    for app in app_on_copy(tmp_path, sqlite_template, "verified", make_catalog, **config):
        browser = http_client(app)
        post_form(browser, "/signup", SIGNUP)
        login = {"email": SIGNUP["email"], "password": SIGNUP["password"]}
        assert post_form(browser, "/login", login).status_code == 302
        assert browser.get("/account").headers["Location"] == "/verify-email"
        assert browser.get("/profile").status_code == 200
        delivered(app)
        [message] = smtp.inbox.to(SIGNUP["email"])
        assert http_client(app).get(link_in(message)).status_code == 303
        assert browser.get("/account").status_code == 200

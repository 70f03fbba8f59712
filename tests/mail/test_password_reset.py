"""Password reset: a single-use, expiring link; the same answer for an unknown address."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask

from tiergate.db import db
from tiergate.standalone.users import find_user, verify_password

from ..accounts.factories import PASSWORD, make_account, make_catalog
from ..browsing import csrf_token_of
from ..conftest import app_on_copy, http_client
from ..standalone.support import post_form
from .conftest import SMTPServer, delivered, link_in, mail_config

NEW = {"password": "a brand new password", "confirm": "a brand new password"}


def _ask(app: Flask, email: str) -> tuple[int, str, str]:
    browser = http_client(app)
    response = post_form(browser, "/forgot-password", {"email": email})
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    shown = page.split("csrf_token")[0].replace(email, "EMAIL")
    return response.status_code, response.headers["Location"], shown


def test_reset_end_to_end_and_the_link_works_once(mail_app: Flask, smtp: SMTPServer):
    make_account("acme", owner="owner@acme.test")
    assert _ask(mail_app, "owner@acme.test")[0] == 303
    delivered(mail_app)
    [message] = smtp.inbox.to("owner@acme.test")
    assert message["Subject"] == "Reset your password"
    link = link_in(message)
    assert link.startswith("/reset-password/")
    browser = http_client(mail_app)  # not logged in
    token = csrf_token_of(browser, link)
    done = browser.post(link, data={**NEW, "csrf_token": token})
    assert (done.status_code, done.headers["Location"]) == (303, "/login")
    db.session.rollback()
    user = find_user("owner@acme.test")
    assert verify_password(user, NEW["password"]) and not verify_password(user, PASSWORD)
    # Used once: the same link now refuses, and a reload of the post changes nothing.
    again = http_client(mail_app).get(link)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert browser.post(link, data={**NEW, "csrf_token": token}).status_code == 400
    db.session.rollback()
    assert verify_password(find_user("owner@acme.test"), NEW["password"])


def test_an_unknown_address_gets_the_same_answer_and_no_message(mail_app: Flask, smtp: SMTPServer):
    make_account("acme", owner="owner@acme.test")
    known = _ask(mail_app, "owner@acme.test")
    unknown = _ask(mail_app, "nobody@acme.test")
    assert known == unknown
    delivered(mail_app)
    assert smtp.inbox.to("nobody@acme.test") == []
    assert len(smtp.inbox.to("owner@acme.test")) == 1


def test_an_expired_link_is_refused(tmp_path: Path, sqlite_template: Path, smtp: SMTPServer):
    # Links of this app live one second.
    config = mail_config(smtp, TIERGATE_PASSWORD_RESET_MINUTES=1 / 60)
    for app in app_on_copy(tmp_path, sqlite_template, "expiry", make_catalog, **config):
        make_account("acme", owner="owner@acme.test")
        _ask(app, "owner@acme.test")
        delivered(app)
        link = link_in(smtp.inbox.to("owner@acme.test")[0])
        time.sleep(2.1)
        expired = http_client(app).get(link)
        assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
        refused = http_client(app).post(link, data=NEW)
        assert refused.status_code == 400
        db.session.rollback()
        assert verify_password(find_user("owner@acme.test"), PASSWORD)

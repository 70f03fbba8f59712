"""The profile page: every form posts, redirects and reloads without re-submitting; the
e-mail address changes only once the new one confirms; deleting a user keeps the owner rules."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account, Membership
from tiergate.audit.models import AuditEvent
from tiergate.db import db
from tiergate.standalone.users import User, find_user

from ..accounts.factories import PASSWORD, make_account, make_user
from ..conftest import http_client
from ..standalone.support import post_form
from .conftest import SMTPServer, body_of, delivered, link_in, post_on_page

OWNER = "owner@acme.test"
FORMS = ("name", "email", "password", "sessions", "delete")


def _browser(app: Flask, email: str = OWNER) -> FlaskClient:
    browser = http_client(app)
    assert post_form(browser, "/login", {"email": email, "password": PASSWORD}).status_code == 302
    return browser


def _actions(user_email: str) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_every_form_url_answers_get_with_the_page(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _browser(mail_app)
    for form in FORMS:
        response = browser.get(f"/profile/{form}")
        assert (response.status_code, response.headers["Location"]) == (302, "/profile")


def test_the_name_is_saved_and_a_reload_changes_nothing(mail_app: Flask):
    make_account("acme", owner=OWNER)
    browser = _browser(mail_app)
    saved = post_on_page(browser, "/profile", "/profile/name", {"display_name": "Ada L."})
    assert (saved.status_code, saved.headers["Location"]) == (303, "/profile")
    page = browser.get("/profile").get_data(as_text=True)
    assert "Your name is saved." in page and 'value="Ada L."' in page
    before = _actions(OWNER)
    assert before.count("user.updated") == 1
    assert "Your name is saved." not in browser.get("/profile").get_data(as_text=True)
    assert _actions(OWNER) == before


def test_a_new_address_must_confirm_and_the_old_one_is_told(mail_app: Flask, smtp: SMTPServer):
    make_account("acme", owner=OWNER)
    browser = _browser(mail_app)
    data = {"email": "ada@new.test", "current_password": PASSWORD}
    asked = post_on_page(browser, "/profile", "/profile/email", data)
    assert (asked.status_code, asked.headers["Location"]) == (303, "/profile")
    db.session.rollback()
    assert find_user(OWNER) is not None  # nothing changed yet
    delivered(mail_app)
    [confirm] = smtp.inbox.to("ada@new.test")
    [told] = smtp.inbox.to(OWNER)
    assert "ada@new.test" in body_of(told)
    link = link_in(confirm)
    assert http_client(mail_app).get(link).status_code == 303  # not logged in: works
    db.session.rollback()
    user = find_user("ada@new.test")
    assert user is not None and user.is_verified and find_user(OWNER) is None
    assert http_client(mail_app).get(link).status_code == 400  # once only
    delivered(mail_app)
    assert [m["Subject"] for m in smtp.inbox.to(OWNER)][-1] == "Your e-mail address changed"
    assert "user.email_changed" in _actions(OWNER)


def test_a_wrong_current_password_changes_nothing(mail_app: Flask, smtp: SMTPServer):
    make_account("acme", owner=OWNER)
    browser = _browser(mail_app)
    data = {"email": "ada@new.test", "current_password": "not my password"}
    refused = post_on_page(browser, "/profile", "/profile/email", data)
    assert refused.status_code == 422
    assert "not your current password" in refused.get_data(as_text=True)
    delivered(mail_app)
    assert smtp.inbox.messages == []


def test_the_last_owner_of_a_team_cannot_delete_their_user(mail_app: Flask):
    account = make_account("acme", owner=OWNER)
    member = make_user("member@acme.test")
    db.session.add(Membership(account_id=account.id, user_id=member.id, role="member"))
    db.session.commit()
    browser = _browser(mail_app)
    data = {"current_password": PASSWORD}
    refused = post_on_page(browser, "/profile", "/profile/delete", data)
    assert refused.status_code == 422
    assert "last owner of acme" in refused.get_data(as_text=True).lower()
    db.session.rollback()
    assert find_user(OWNER) is not None
    assert db.session.get(Account, account.id) is not None


def test_a_sole_member_deletes_their_user_and_their_organisation(mail_app: Flask):
    account_id = make_account("acme", owner=OWNER).id
    other = make_account("other", owner="boss@other.test")
    me_id = find_user(OWNER).id
    db.session.add(Membership(account_id=other.id, user_id=me_id, role="member"))
    db.session.commit()
    browser = _browser(mail_app)
    deleted = post_on_page(browser, "/profile", "/profile/delete", {"current_password": PASSWORD})
    assert (deleted.status_code, deleted.headers["Location"]) == (303, "/login")
    db.session.rollback()
    assert find_user(OWNER) is None
    assert db.session.get(Account, account_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    members = db.session.scalars(
        sa.select(Membership.user_id).where(Membership.account_id == other.id)
    )
    assert me_id not in list(members)
    actions = _actions(OWNER)
    assert {"account.deleted", "membership.deleted", "user.deleted"} <= set(actions)
    assert browser.get("/profile").status_code == 302

"""Invitations e-mail their link, which joins; billing notices follow the provider's events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account, Invitation
from tiergate.db import db
from tiergate.standalone.users import find_user

from ..accounts.factories import make_account, make_catalog, subscribe
from ..billing.test_sandbox_flow import buy
from ..browsing import log_in_with_form
from ..conftest import app_on_copy, http_client
from ..standalone.support import post_form
from .conftest import SMTPServer, body_of, delivered, link_in, mail_config, post_on_page

OWNER = "owner@acme.test"


def test_an_invitation_e_mail_carries_the_link_that_joins(mail_app: Flask, smtp: SMTPServer):
    account = make_account("acme", owner=OWNER)
    subscribe(account, "pro")  # a free seat
    owner = http_client(mail_app)
    log_in_with_form(owner, OWNER)
    data = {"email": "new@acme.test", "role": "member"}
    invited = post_on_page(owner, "/account/members", "/account/members", data)
    assert invited.status_code == 303  # post/redirect/get back to the members page
    delivered(mail_app)
    [message] = smtp.inbox.to("new@acme.test")
    assert message["Subject"] == "You are invited to join Acme"
    assert "as member" in body_of(message)
    link = link_in(message)
    guest = http_client(mail_app)  # not logged in
    joined = post_form(
        guest, link, {"password": "a long new password", "confirm": "a long new password"}
    )
    assert joined.status_code == 302, joined.get_data(as_text=True)
    db.session.rollback()
    user = find_user("new@acme.test")
    assert user is not None and user.is_verified  # the invitation reached the address
    assert "acme" in guest.get("/account").get_data(as_text=True)


@pytest.fixture
def sandbox_mail_app(tmp_path: Path, sqlite_template: Path, smtp: SMTPServer) -> Iterator[Flask]:
    config = mail_config(smtp, TIERGATE_SANDBOX=True, TIERGATE_PUBLIC_URL="http://localhost")
    for app in app_on_copy(tmp_path, sqlite_template, "billing", make_catalog, **config):
        yield app
        delivered(app)


def test_a_failed_payment_e_mails_the_owners(sandbox_mail_app: Flask, smtp: SMTPServer):
    acme: Account = make_account("acme", owner=OWNER)
    browser = http_client(sandbox_mail_app)
    log_in_with_form(browser, OWNER)
    buy(browser, "team")
    delivered(sandbox_mail_app)
    receipts = [m["Subject"] for m in smtp.inbox.to(OWNER)]
    assert "Your receipt" in receipts
    result = sandbox_mail_app.test_cli_runner().invoke(
        args=["sandbox", "advance", acme.slug, "--to", "past_due"]
    )
    assert result.exit_code == 0, result.output
    delivered(sandbox_mail_app)
    [failed] = [m for m in smtp.inbox.to(OWNER) if m["Subject"] == "Your payment failed"]
    assert "acme" in body_of(failed)
    assert link_in(failed) == "/account?account=acme"


def test_a_resent_invitation_e_mails_a_new_link(mail_app: Flask, smtp: SMTPServer):
    account = make_account("acme", owner=OWNER)
    subscribe(account, "pro")
    owner = http_client(mail_app)
    log_in_with_form(owner, OWNER)
    data = {"email": "new@acme.test", "role": "member"}
    assert post_on_page(owner, "/account/members", "/account/members", data).status_code == 303
    db.session.rollback()
    invitation = db.session.scalars(sa.select(Invitation)).one()
    action = f"/account/invitations/{invitation.id}/resend"
    assert post_on_page(owner, "/account/members", action, {}).status_code == 303
    delivered(mail_app)
    first, second = smtp.inbox.to("new@acme.test")
    assert link_in(first) != link_in(second)
    assert http_client(mail_app).get(link_in(first)).status_code == 404  # the old link ended
    assert http_client(mail_app).get(link_in(second)).status_code == 200

"""Invitations e-mail their link, which joins; billing notices follow the provider's events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

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


def _invite(owner: FlaskClient, data: dict[str, str], action: str = "/account/members") -> str:
    """Invite (or re-send) through the members page and return the link it then shows once."""
    invited = post_on_page(owner, "/account/members", action, data)
    # Post/redirect/get: the members page shows the new link on the next request only.
    assert invited.status_code == 303, invited.get_data(as_text=True)
    page = owner.get(invited.headers["Location"]).get_data(as_text=True)
    shown = re.search(r'id="invite-link" [^>]*value="([^"]+)"', page)
    assert shown, page
    again = owner.get(invited.headers["Location"]).get_data(as_text=True)
    assert 'id="invite-link"' not in again
    return shown.group(1)


def test_an_invitation_e_mail_carries_the_link_that_joins(mail_app: Flask, smtp: SMTPServer):
    account = make_account("acme", owner=OWNER)
    subscribe(account, "pro")  # a free seat
    owner = http_client(mail_app)
    log_in_with_form(owner, OWNER)
    data = {"email": "new@acme.test", "role": "member"}
    shown = _invite(owner, data)
    delivered(mail_app)
    [message] = smtp.inbox.to("new@acme.test")
    assert message["Subject"] == "You are invited to join Acme"
    assert "as member" in body_of(message)
    link = link_in(message)
    assert shown.endswith(link)  # the page shows the link the e-mail carries
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
    first_shown = _invite(owner, data)
    db.session.rollback()
    invitation = db.session.scalars(sa.select(Invitation)).one()
    action = f"/account/invitations/{invitation.id}/resend"
    second_shown = _invite(owner, {}, action)
    delivered(mail_app)
    first, second = smtp.inbox.to("new@acme.test")
    assert link_in(first) != link_in(second)
    assert first_shown.endswith(link_in(first)) and second_shown.endswith(link_in(second))
    assert http_client(mail_app).get(link_in(first)).status_code == 404  # the old link ended
    assert http_client(mail_app).get(link_in(second)).status_code == 200

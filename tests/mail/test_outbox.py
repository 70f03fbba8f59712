"""The outbox: a request succeeds while the mail server is down, and its message is sent
once the server is back; nothing is lost or sent twice; the folder and a host's own sender."""

from __future__ import annotations

import email
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate import create_app
from tiergate.db import db
from tiergate.errors import ConfigurationError
from tiergate.mail.models import OutgoingMail
from tiergate.mail.outbox import retry_delay, send_due_mail
from tiergate.mail.sender import MailMessage, parse_smtp_url

from ..accounts.factories import make_catalog
from ..conftest import TEST_CONFIG, app_on_copy, http_client
from ..standalone.support import post_form
from .conftest import SMTPServer, delivered, mail_config

SIGNUP = {
    "email": "ada@example.test",
    "account_name": "Analytical Engines",
    "password": "a long new password",
    "confirm": "a long new password",
}


def _rows() -> list[OutgoingMail]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.id)))


def test_the_server_down_during_a_request_then_back(mail_app: Flask, smtp: SMTPServer):
    smtp.stop()
    response = post_form(http_client(mail_app), "/signup", SIGNUP)
    assert response.status_code == 302  # the sign-up went through
    delivered(mail_app)
    [row] = _rows()
    assert row.sent_at is None and row.attempts == 1 and row.last_error
    assert row.due_at > row.created_at  # retried later, not at once
    smtp.start()
    result = mail_app.test_cli_runner().invoke(args=["mail", "send"])
    assert "sent 0" in result.output  # not due yet: the backoff holds
    result = mail_app.test_cli_runner().invoke(args=["mail", "send", "--now"])
    assert result.exit_code == 0 and "sent 1, failed 0" in result.output
    assert len(smtp.inbox.to("ada@example.test")) == 1
    [row] = _rows()
    assert row.sent_at is not None and row.attempts == 2 and row.last_error is None
    # Sent once: another pass finds nothing to send.
    assert "sent 0" in mail_app.test_cli_runner().invoke(args=["mail", "send", "--now"]).output
    assert len(smtp.inbox.messages) == 1


def test_the_sender_retries_by_itself_when_the_server_is_back(
    tmp_path: Path, sqlite_template: Path, smtp: SMTPServer
):
    config = mail_config(smtp, TIERGATE_MAIL_RETRY_SECONDS=0.5)
    for app in app_on_copy(tmp_path, sqlite_template, "retry", make_catalog, **config):
        smtp.stop()
        assert post_form(http_client(app), "/signup", SIGNUP).status_code == 302
        delivered(app)
        smtp.start()
        deadline = time.monotonic() + 10
        while not smtp.inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        delivered(app)
        assert len(smtp.inbox.to("ada@example.test")) == 1
        [row] = _rows()
        assert row.sent_at is not None and row.attempts >= 2


def test_a_claimed_row_is_not_sent_twice_and_a_stale_claim_is_retried(
    mail_app: Flask, smtp: SMTPServer
):
    from datetime import timedelta

    from tiergate.db import utcnow
    from tiergate.mail.services import queue_mail

    mail = queue_mail("verify_email", "x@example.test", "Hello", user=None, link="http://x/")
    mail.claimed_until = utcnow() + timedelta(minutes=5)  # another sender holds it
    db.session.commit()
    delivered(mail_app)
    assert send_due_mail(include_later=True).sent == 0
    db.session.get_one(OutgoingMail, mail.id).claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert send_due_mail().sent == 1  # the claim ran out (a crashed sender): sent now
    assert len(smtp.inbox.to("x@example.test")) == 1


def test_without_a_server_messages_are_eml_files(tmp_path: Path, sqlite_template: Path):
    outbox = tmp_path / "outbox"
    config = {"TIERGATE_MAIL_SEND_AFTER_COMMIT": True, "TIERGATE_MAIL_OUTBOX_DIR": str(outbox)}
    for app in app_on_copy(tmp_path, sqlite_template, "eml", make_catalog, **config):
        assert post_form(http_client(app), "/signup", SIGNUP).status_code == 302
        delivered(app)
        [path] = outbox.glob("*.eml")
        message = email.message_from_bytes(path.read_bytes())
        assert message["To"] == "ada@example.test"
        assert message["Subject"] == "Confirm your e-mail address"
        assert message.is_multipart()


def test_a_host_replaces_the_sender(tmp_path: Path, sqlite_template: Path):
    taken: list[MailMessage] = []
    config: dict[str, Any] = {
        "TIERGATE_MAIL_SEND_AFTER_COMMIT": True,
        "TIERGATE_MAIL_SENDER": taken.append,
    }
    for app in app_on_copy(tmp_path, sqlite_template, "host", make_catalog, **config):
        assert post_form(http_client(app), "/signup", SIGNUP).status_code == 302
        delivered(app)
        [message] = taken
        assert message.recipient == "ada@example.test" and "/verify-email/" in message.text


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.test", "use smtp://"),
        ("smtps://mail.test?starttls=1", "starttls is for smtp://"),
        ("smtp://mail.test:port", "the port is not a number"),
    ],
)
def test_a_bad_smtp_url_is_refused_naming_the_problem(tmp_path: Path, url: str, problem: str):
    with pytest.raises(ConfigurationError, match=problem):
        create_app(
            {
                **TEST_CONFIG,
                "TIERGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "TIERGATE_SMTP_URL": url,
            }
        )


def test_smtp_urls_and_the_backoff():
    plain = parse_smtp_url("smtp://user%40x:p%3Ass@mail.test:2525")
    assert (plain.host, plain.port, plain.username, plain.password) == (
        "mail.test",
        2525,
        "user@x",
        "p:ss",
    )
    assert parse_smtp_url("smtp://mail.test?starttls=1").use_tls
    assert parse_smtp_url("smtps://mail.test").port == 465
    delays = [retry_delay(n, 60, 3600).total_seconds() for n in (1, 2, 3, 10)]
    assert delays == [60, 120, 240, 3600]


def test_the_demo_lists_the_messages_and_a_production_app_does_not(
    tmp_path: Path, sqlite_template: Path
):
    config = {"TIERGATE_SANDBOX": True, "TIERGATE_MAIL_OUTBOX_DIR": str(tmp_path / "out")}
    for app in app_on_copy(tmp_path, sqlite_template, "demo", make_catalog, **config):
        browser = http_client(app)
        assert post_form(browser, "/signup", SIGNUP).status_code == 302
        listing = browser.get("/outbox").get_data(as_text=True)
        assert "ada@example.test" in listing and str(tmp_path / "out") in listing
        [row] = _rows()
        shown = browser.get(f"/outbox/{row.id}").get_data(as_text=True)
        assert "/verify-email/" in shown
    for app in app_on_copy(tmp_path, sqlite_template, "prod", make_catalog):
        assert http_client(app).get("/outbox").status_code == 404

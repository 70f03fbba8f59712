"""The owners' e-mail when a count reaches 80 % and 100 % of its limit: once, with the count."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from tiergate.db import begin_write_transaction, db
from tiergate.limits import release, reserve, track
from tiergate.mail.models import OutgoingMail

from ..accounts.factories import make_account
from ..limits.support import NOW, add_limits, make_limits_catalog
from .conftest import SMTPServer, body_of, delivered


def _write(step, *args) -> None:
    begin_write_transaction()
    step(*args, now=NOW)
    db.session.commit()


def _subjects(smtp: SMTPServer) -> list[str]:
    return [message["Subject"] for message in smtp.inbox.to("owner@acme.test")]


def test_the_owners_hear_of_80_and_100_percent_once_a_day(mail_app: Flask, smtp: SMTPServer):
    add_limits()  # Free: 3 projects, 100 API calls a month
    account = make_account("acme", owner="owner@acme.test")
    _write(reserve, account.id, "projects", 2)  # 2 of 3: under 80 %
    _write(track, account.id, "api.calls", 79)
    delivered(mail_app)
    assert _subjects(smtp) == []
    _write(track, account.id, "api.calls", 1)  # 80 of 100
    _write(reserve, account.id, "projects", 1)  # 3 of 3: past 80 % and 100 % in one write
    delivered(mail_app)
    assert _subjects(smtp) == [
        "Acme has used 80% of its API calls",
        "Acme has used all of its projects",
    ]
    full = smtp.inbox.to("owner@acme.test")[1]
    text = body_of(full)
    assert "Acme has used 3 of its 3 projects: the plan's limit is reached" in text
    assert "/account?account=acme" in text and "/pricing" in text
    # Down and up across the limit again the same day: told already.
    _write(release, account.id, "projects", 1)
    _write(reserve, account.id, "projects", 1)
    delivered(mail_app)
    assert len(_subjects(smtp)) == 2


def test_a_count_rolled_back_queues_nothing(mail_app: Flask, smtp: SMTPServer):
    add_limits()
    account = make_account("acme", owner="owner@acme.test")
    begin_write_transaction()
    reserve(account.id, "projects", 3, now=NOW)
    db.session.rollback()  # the view failed: its units are given back, and its e-mail too
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0
    _write(reserve, account.id, "projects", 3)
    assert [m.kind for m in db.session.scalars(sa.select(OutgoingMail))] == ["limit_threshold"]


def test_the_notice_is_queued_inside_a_hard_count_on_each_backend(any_backend_app: Flask):
    any_backend_app.config["TIERGATE_MAIL_LIMIT_NOTICES"] = True
    make_limits_catalog()
    account = make_account("acme", owner="owner@acme.test")
    make_owner = make_account("other", owner="owner@other.test")
    for _ in range(2):  # the second time: the same day's notice, queued once
        _write(reserve, account.id, "projects", 3)
        _write(release, account.id, "projects", 3)
    _write(track, make_owner.id, "api.calls", 100)
    rows = db.session.execute(sa.select(OutgoingMail.recipient, OutgoingMail.dedupe_key)).all()
    keys = sorted((recipient, key.rsplit(":", 1)[0]) for recipient, key in rows)
    assert keys == [
        ("owner@acme.test", f"limit:{account.id}:projects:100"),
        ("owner@other.test", f"limit:{make_owner.id}:api.calls:100"),
    ]

"""Billing notices are never lost and never sent twice.

A process that stops between a webhook's commit and the queueing of its notice is played by
an app with billing notices off receiving the events; a second app on the same database (the
restarted process) must then queue and send each missing notice exactly once. The events are
the Stripe envelopes of the inbox tests (``tests/billing/webhooks/support.py``), signed with
the SDK's own helper and posted to the real endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from tiergate.audit.models import AuditEvent
from tiergate.db import db
from tiergate.mail.models import OutgoingMail
from tiergate.mail.notices import queue_plan_change_notice, tier_changes
from tiergate.mail.services import queue_mail
from tiergate.mail.sweep import sweep_billing_notices, sweep_since
from tiergate.mail.worker import mail_worker

from ..accounts.factories import NOW, make_account, make_catalog, subscribe
from ..billing.webhooks.support import WEBHOOK_CONFIG, SubState, deliver, stripe_event
from ..conftest import app_on_copy, http_client, in_app_context, make_app
from .conftest import SMTPServer, delivered, mail_config

OWNER = "owner@acme.test"
TRIAL = "Your free trial ends soon"
PLAN = "Your plan changed"


def _subjects(smtp: SMTPServer) -> list[str]:
    return [str(m["Subject"]) for m in smtp.inbox.to(OWNER)]


@pytest.fixture
def stopped_before_queueing(
    tmp_path: Path, sqlite_template: Path, smtp: SMTPServer
) -> Iterator[str]:
    """Commit a trial-ending event and a tier change whose notices were never queued."""
    config = mail_config(smtp, TIERGATE_MAIL_BILLING_NOTICES=False, **WEBHOOK_CONFIG)
    for app in app_on_copy(tmp_path, sqlite_template, "stopped", make_catalog, **config):
        account = make_account("acme", owner=OWNER)
        now = int(time.time())
        trial = SubState("stripe", "sub_acme", account.id, "team", "trialing", now - 10, now + 9)
        client = http_client(app)
        for event_id, state, kind in [
            ("evt_1", trial, "customer.subscription.created"),
            ("evt_2", trial, "customer.subscription.trial_will_end"),
            (
                "evt_3",
                SubState("stripe", "sub_acme", account.id, "pro", "active", now, now + 9),
                "customer.subscription.updated",
            ),
        ]:
            assert (
                deliver(
                    client, "stripe", stripe_event(event_id, state, event_type=kind)
                ).status_code
                == 200
            )
        delivered(app)
        assert smtp.inbox.messages == []  # the notices were lost with the stopped process
    yield f"sqlite:///{tmp_path / 'stopped.sqlite3'}"


def _restarted(url: str, smtp: SMTPServer) -> Flask:
    return make_app(url, **mail_config(smtp, **WEBHOOK_CONFIG))


def test_mail_send_queues_the_lost_notices_once(stopped_before_queueing: str, smtp: SMTPServer):
    with in_app_context(_restarted(stopped_before_queueing, smtp)) as app:
        result = app.test_cli_runner().invoke(args=["mail", "send"])
        assert result.exit_code == 0, result.output
        assert "queued 2 billing notices that were missing" in result.output
        delivered(app)  # the app's own sender may have claimed one of them first
        assert sorted(_subjects(smtp)) == [TRIAL, PLAN]
        again = app.test_cli_runner().invoke(args=["mail", "send", "--now"])
        assert "queued" not in again.output and "sent 0" in again.output
        assert sorted(_subjects(smtp)) == [TRIAL, PLAN]


def test_the_sender_thread_sweeps_when_it_starts(stopped_before_queueing: str, smtp: SMTPServer):
    with in_app_context(_restarted(stopped_before_queueing, smtp)) as app:
        mail_worker(app).wake()
        delivered(app)
        assert sorted(_subjects(smtp)) == [TRIAL, PLAN]
        db.session.rollback()
        assert sweep_billing_notices() == 0  # the sweep again, another process: nothing new
        keys = db.session.scalars(sa.select(OutgoingMail.dedupe_key).order_by(OutgoingMail.id))
        assert [key.split(":")[0] for key in keys if key] == ["event", "plan"]


def test_a_later_event_that_changes_nothing_does_not_repeat_plan_changed(
    tmp_path: Path, sqlite_template: Path, smtp: SMTPServer
):
    config = mail_config(smtp, **WEBHOOK_CONFIG)
    for app in app_on_copy(tmp_path, sqlite_template, "again", make_catalog, **config):
        account = make_account("acme", owner=OWNER)
        now = int(time.time())
        client = http_client(app)
        team = SubState("stripe", "sub_acme", account.id, "team", "active", now - 10, now + 99)
        pro = SubState("stripe", "sub_acme", account.id, "pro", "active", now - 5, now + 99)
        same = SubState("stripe", "sub_acme", account.id, "pro", "active", now, now + 99)
        created = stripe_event("evt_1", team, event_type="customer.subscription.created")
        for payload in [created, stripe_event("evt_2", pro), stripe_event("evt_3", same)]:
            assert deliver(client, "stripe", payload).status_code == 200
            delivered(app)
        assert _subjects(smtp).count(PLAN) == 1


def test_a_notice_is_queued_once_on_every_backend(any_backend_app: Flask):
    make_catalog()
    account = make_account("acme", owner=OWNER)
    subscribe(account, "pro", subscription_id="sub_acme")
    subscribe(account, "team", subscription_id="sub_acme", updated_at=NOW)
    [change] = tier_changes(sweep_since())
    assert isinstance(change, AuditEvent)
    assert queue_plan_change_notice(change) == 1
    assert queue_plan_change_notice(change) == 0
    db.session.commit()
    # Two senders racing past the check: the unique key refuses the second inside its
    # savepoint, and the transaction goes on.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        queue_mail("verify_email", OWNER, "Hi", dedupe_key=f"plan:{change.id}", user=None, link="x")
    queue_mail(
        "verify_email", "other@acme.test", "Hi", dedupe_key=f"plan:{change.id}", user=None, link="x"
    )
    db.session.commit()
    rows = db.session.scalars(sa.select(OutgoingMail.recipient).order_by(OutgoingMail.id))
    assert list(rows) == [OWNER, "other@acme.test"]

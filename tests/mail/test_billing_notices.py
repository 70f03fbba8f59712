"""Billing notices from signed Stripe webhooks: trial ending and plan changed.

The events are the Stripe subscription envelopes of the inbox tests
(``tests/billing/webhooks/support.py``: the current API's subscription object, period on the
item), signed with the SDK's own helper and posted to the real endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from ..accounts.factories import make_account, make_catalog
from ..billing.webhooks.support import WEBHOOK_CONFIG, SubState, deliver, stripe_event
from ..conftest import app_on_copy, http_client
from .conftest import SMTPServer, body_of, delivered, link_in, mail_config

OWNER = "owner@acme.test"


@pytest.fixture
def webhook_mail_app(tmp_path: Path, sqlite_template: Path, smtp: SMTPServer) -> Iterator[Flask]:
    config = mail_config(smtp, TIERGATE_PUBLIC_URL="https://app.example.test", **WEBHOOK_CONFIG)
    for app in app_on_copy(tmp_path, sqlite_template, "notices", make_catalog, **config):
        yield app
        delivered(app)


def test_trial_ending_and_plan_changed_reach_the_owners(webhook_mail_app: Flask, smtp: SMTPServer):
    account = make_account("acme", owner=OWNER)
    now = int(time.time())
    trial = SubState(
        "stripe", "sub_acme", account.id, "team", "trialing", now - 10, now + 3 * 86400
    )
    client = http_client(webhook_mail_app)
    created = stripe_event("evt_1", trial, event_type="customer.subscription.created")
    assert deliver(client, "stripe", created).status_code == 200
    ending = stripe_event("evt_2", trial, event_type="customer.subscription.trial_will_end")
    assert deliver(client, "stripe", ending).status_code == 200
    delivered(webhook_mail_app)
    [notice] = [m for m in smtp.inbox.to(OWNER) if m["Subject"] == "Your free trial ends soon"]
    assert "Acme" in body_of(notice) and "Team" in body_of(notice)
    assert link_in(notice) == "/account?account=acme"
    assert "https://app.example.test/account" in body_of(notice)  # TIERGATE_PUBLIC_URL
    changed = SubState("stripe", "sub_acme", account.id, "pro", "active", now, now + 30 * 86400)
    assert deliver(client, "stripe", stripe_event("evt_3", changed)).status_code == 200
    delivered(webhook_mail_app)
    [plan] = [m for m in smtp.inbox.to(OWNER) if m["Subject"] == "Your plan changed"]
    assert "from Team to Pro" in body_of(plan)
    # A redelivered event is acknowledged, not applied again: no second notice.
    assert deliver(client, "stripe", ending).status_code == 200
    delivered(webhook_mail_app)
    subjects = [m["Subject"] for m in smtp.inbox.to(OWNER)]
    assert subjects.count("Your free trial ends soon") == 1

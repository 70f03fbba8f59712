"""The meter sender: partial batches, refused rows, backoff, review, claims, the background send."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import sqlalchemy as sa

from tiergate.accounts.apikeys import create_api_key
from tiergate.accounts.models import Account
from tiergate.billing.providers.config import stripe_settings
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.db import db, utcnow
from tiergate.limits import track
from tiergate.limits.meter_sender import claim_batch, send_meter_events
from tiergate.limits.meter_worker import meter_worker
from tiergate.limits.models import MeterEvent

from ..accounts.factories import SYSTEM, make_account
from ..billing.test_stripe_meters import summed
from ..conftest import http_client
from . import test_meter_outbox as base

sandbox_app, pay = base.sandbox_app, base.pay


class Refusing(httpx.BaseTransport):
    """The sandbox's transport; meter events named in ``answers`` get that answer instead.

    The error bodies follow Stripe's error object (openapi ``error``: type, message).
    """

    def __init__(self, inner: httpx.BaseTransport, answers: dict[str, httpx.Response]) -> None:
        self.inner = inner
        self.answers = answers
        self.sent: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/billing/meter_events"):
            return self.inner.handle_request(request)
        self.release.wait(10)
        identifier = parse_qs(request.content.decode())["identifier"][0]
        self.sent.append(identifier)
        if identifier in self.answers:
            return self.answers[identifier]
        return self.inner.handle_request(request)


def refusing(answers: dict[str, httpx.Response] | None = None) -> tuple[StripeProvider, Refusing]:
    settings = stripe_settings()
    assert settings.transport is not None
    transport = Refusing(settings.transport, answers or {})
    return StripeProvider(replace(settings, transport=transport)), transport


def invalid(message: str) -> httpx.Response:
    return httpx.Response(
        400, json={"error": {"type": "invalid_request_error", "message": message}}
    )


def server_error() -> httpx.Response:
    return httpx.Response(500, json={"error": {"type": "api_error", "message": "boom"}})


def rows() -> list[MeterEvent]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(MeterEvent).order_by(MeterEvent.id)))


def tracked(sandbox_app, *amounts: int) -> tuple[Account, str, list[str]]:
    account = make_account("acme", owner="owner@acme.test")
    customer = pay(sandbox_app, account)
    for amount in amounts:
        track(account.id, "api.billed", amount)
        db.session.commit()
    return account, customer, [row.identifier for row in rows()]


def test_a_refused_event_is_dead_and_the_others_are_sent(sandbox_app):
    _, customer, ids = tracked(sandbox_app, 1, 2, 4)
    provider, transport = refusing({ids[1]: invalid("No active meter with event_name api_calls")})

    summary = send_meter_events(reporter=provider)

    assert (summary.sent, summary.dead, summary.failed) == (2, 1, 0)
    assert [row.state for row in rows()] == ["sent", "dead", "sent"]
    assert "No active meter" in (rows()[1].last_error or "")
    assert summed(customer, "api_calls") == 5
    assert send_meter_events(reporter=provider).sent == 0  # a dead row is never sent again
    assert transport.sent == ids


def test_a_failing_event_backs_off_without_blocking_the_rest(sandbox_app):
    _, customer, ids = tracked(sandbox_app, 1, 2, 4)
    provider, transport = refusing({ids[1]: server_error()})

    first = send_meter_events(reporter=provider)
    assert (first.sent, first.failed) == (1, 1) and "unavailable" in (first.error or "")
    failed = rows()[1]
    assert (failed.state, failed.attempts, failed.first_attempt_at is not None) == (
        "pending",
        1,
        True,
    )
    assert failed.next_attempt_at is not None and failed.next_attempt_at > utcnow()
    # The row after the failure was not sent: no attempt, no first-attempt time, no claim.
    assert (rows()[2].attempts, rows()[2].first_attempt_at, rows()[2].claim_token) == (
        0,
        None,
        None,
    )

    second = send_meter_events(reporter=provider)
    assert (second.sent, second.failed) == (1, 0)  # the third goes; the second waits
    assert transport.sent == [ids[0], ids[1], ids[2]]

    db.session.execute(sa.update(MeterEvent).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert send_meter_events().sent == 1
    assert summed(customer, "api_calls") == 7


def test_events_stripe_would_refuse_or_might_bill_twice_are_set_aside(sandbox_app, caplog):
    _, customer, ids = tracked(sandbox_app, 1, 2, 4)
    old, retried = rows()[0], rows()[1]
    old.occurred_at = utcnow() - timedelta(days=36)
    retried.first_attempt_at = utcnow() - timedelta(hours=23, minutes=5)
    retried.attempts = 3
    db.session.commit()
    provider, transport = refusing()

    # The handler goes on the sender's own logger: what other tests did to the logging tree
    # (handlers, propagation) must not decide whether this test sees the line.
    sender_log = logging.getLogger("tiergate.limits.meter_sender")
    was_disabled, sender_log.disabled = sender_log.disabled, False  # a logging config may
    sender_log.addHandler(caplog.handler)  # have disabled the loggers that existed then
    try:
        with caplog.at_level(logging.ERROR, logger="tiergate.limits.meter_sender"):
            summary = send_meter_events(reporter=provider)
    finally:
        sender_log.removeHandler(caplog.handler)
        sender_log.disabled = was_disabled

    assert (summary.sent, summary.dead, summary.review) == (1, 1, 1)
    assert transport.sent == [ids[2]]  # neither was sent
    assert [row.state for row in rows()] == ["dead", "review", "sent"]
    assert f"meter event {ids[1]} held for review" in caplog.text
    listed = sandbox_app.test_cli_runner().invoke(args=["limits", "meter-events"])
    assert listed.exit_code == 0, listed.output
    assert f"dead    {ids[0]}" in listed.output and "older than 35 days" in listed.output
    assert f"review  {ids[1]}" in listed.output and "duplicate window" in listed.output
    assert summed(customer, "api_calls") == 4


def test_a_claimed_row_is_not_claimed_twice_until_its_claim_expires(sandbox_app):
    _, customer, ids = tracked(sandbox_app, 1, 2)
    now = utcnow()
    mine = claim_batch("worker-a", 10, now)
    assert [row.identifier for row in mine] == ids
    assert claim_batch("worker-b", 10, now) == []
    assert send_meter_events().sent == 0  # worker a "crashed" holding them

    db.session.execute(sa.update(MeterEvent).values(claimed_until=now - timedelta(seconds=1)))
    db.session.commit()
    assert send_meter_events().sent == 2  # the expired claim loses nothing
    assert summed(customer, "api_calls") == 3


def test_the_cli_sends_and_reports_what_it_did(sandbox_app):
    tracked(sandbox_app, 3, 4)
    result = sandbox_app.test_cli_runner().invoke(args=["limits", "send-meter-events"])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 failed, 0 refused for good, 0 held for review" in result.output


def test_the_response_does_not_wait_for_stripe(sandbox_app):
    sandbox_app.config["TIERGATE_METER_SEND_AFTER_COMMIT"] = True
    account = make_account("acme", owner="owner@acme.test")
    customer = pay(sandbox_app, account)
    _, key = create_api_key("meter", account=db.session.get_one(Account, account.id), actor=SYSTEM)
    db.session.commit()
    provider, transport = refusing()
    transport.release.clear()  # Stripe hangs until released
    meter_worker(sandbox_app).reporter = provider

    response = http_client(sandbox_app).post(
        f"/api/v1/accounts/{account.id}/track",
        json={"permission": "api.billed", "amount": 12},
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 200, response.get_json()
    assert transport.sent == []  # answered while the sender still waits on Stripe
    transport.release.set()
    assert meter_worker(sandbox_app).wait_until_idle()
    assert [row.state for row in rows()] == ["sent"]
    assert summed(customer, "api_calls") == 12

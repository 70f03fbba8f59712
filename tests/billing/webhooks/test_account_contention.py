"""Many different events for one account at once: no deadlock reaches the provider.

Every writer of an account's subscriptions takes the account row first, so concurrent
deliveries queue on it; a transaction the database still picks as a deadlock victim is
retried, and an event that fails for good records the real error and its attempt.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from tiergate.billing.webhooks import services
from tiergate.db import db

from ...accounts.factories import make_account
from ...backends import BACKENDS
from .support import SubState, deliver, inbox, stripe_event, subscription_audit

AT = 1_767_268_800
SENDERS = 16
SUBSCRIPTIONS = 8
STATES_PER_SUBSCRIPTION = 15  # 120 events in all
TIERS = ("pro", "team")
STATUSES = ("trialing", "active", "past_due", "active")


def contended_events(account_id: int) -> list[dict[str, Any]]:
    """Different events about a handful of one account's subscriptions, interleaved."""
    events = []
    for step in range(STATES_PER_SUBSCRIPTION):
        for number in range(SUBSCRIPTIONS):
            state = SubState(
                "stripe",
                f"sub_{number}",
                account_id,
                TIERS[step % 2],
                STATUSES[step % len(STATUSES)],
                AT + step,
                AT + 86400 * (30 + step),
            )
            events.append(stripe_event(f"evt_{number}_{step}", state))
    return events


def deliver_concurrently(app: Any, events: list[dict[str, Any]]) -> list[tuple[str, int, Any]]:
    """Deliver ``events`` from SENDERS threads at once; return (event id, status, body)."""
    answers: list[tuple[str, int, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(SENDERS)

    def sender(share: list[dict[str, Any]]) -> None:
        client = app.test_client()
        start.wait()
        for payload in share:
            response = deliver(client, "stripe", payload)
            with lock:
                answers.append((payload["id"], response.status_code, response.get_json()))

    threads = [
        threading.Thread(target=sender, args=(events[index::SENDERS],), daemon=True)
        for index in range(SENDERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
        assert not thread.is_alive(), "a sender never finished"
    return answers


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_events_for_one_account_all_succeed_once(inbox_backend_app, backend) -> None:
    with inbox_backend_app(backend) as app:
        account_id = make_account("acme").id
        events = contended_events(account_id)
        db.session.remove()
        answers = deliver_concurrently(app, events)

        failures = [(event_id, code, body) for event_id, code, body in answers if code >= 300]
        assert failures == [], f"{len(failures)} of {len(answers)} deliveries failed"
        stored = inbox()
        assert len(stored) == len(events)
        assert {(row.status, row.attempts) for row in stored.values()} == {("processed", 1)}
        # Each event is applied at most once: never two audit entries for one event.
        actors = [entry.actor_id for entry in subscription_audit()]
        assert len(actors) == len(set(actors))
        db.session.rollback()
        versions = db.session.execute(sa.text("SELECT count(*) FROM tiergate_subscription"))
        assert versions.scalar() == SUBSCRIPTIONS


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_failure_that_ends_the_transaction_records_the_real_error(
    inbox_backend_app, backend, monkeypatch
) -> None:
    """The database rolls the whole transaction back (as MariaDB does to a deadlock victim)."""
    with inbox_backend_app(backend) as app:
        account_id = make_account("acme").id
        calls = []

        def aborted_apply(state, *, actor, **options):
            calls.append(actor.id)
            # What a deadlock victim's server does: the whole transaction is gone, savepoint
            # included, and the statement fails.
            db.session.connection().exec_driver_sql("ROLLBACK")
            raise sa.exc.OperationalError(
                "UPDATE tiergate_account", {}, Exception("1213 Disk on fire in the test")
            )

        monkeypatch.setattr(services, "apply_subscription_state", aborted_apply)
        state = SubState("stripe", "sub_1", account_id, "pro", "active", AT, AT + 86400)
        response = deliver(app.test_client(), "stripe", stripe_event("evt_1", state))

        assert response.status_code == 500, response.get_json()
        stored = inbox()["evt_1"]
        assert (stored.status, stored.attempts) == ("failed", 1)
        assert "Disk on fire in the test" in (stored.last_error or "")
        assert "SAVEPOINT" not in (stored.last_error or "").upper()
        assert calls == ["evt_1"]  # not a deadlock: applied once, not retried

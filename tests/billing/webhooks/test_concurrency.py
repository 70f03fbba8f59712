"""Two deliveries of one event on two connections at once: applied exactly once.

PostgreSQL (READ COMMITTED) and MariaDB (REPEATABLE READ) each get the same races.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from tiergate.billing.providers import get_provider
from tiergate.billing.webhooks import services
from tiergate.billing.webhooks.services import process_event, record_event
from tiergate.db import db

from ...accounts.factories import make_account
from .support import (
    SubState,
    deliver,
    inbox,
    stripe_event,
    stripe_headers,
    subscription_audit,
    subscription_rows,
)

AT = 1_767_268_800
WAIT_SECONDS = 30


def run_in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start ``target`` on a thread; the list receives its result or its exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(target())
        except BaseException as error:  # re-raised on the test's thread
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def result_of(thread: threading.Thread, outcome: list[Any]) -> Any:
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive(), "a delivery never finished"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


LOCK_WAITERS = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'",
    "mysql": "SELECT count(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'",
}


def wait_until_a_connection_waits_for_a_lock() -> None:
    """Return once another connection of this database is blocked on a row or key lock."""
    query = sa.text(LOCK_WAITERS[db.engine.dialect.name])
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if connection.scalar(query):
                return
        # MariaDB refreshes innodb_trx only when it was not read for 0.1 s: poll slower.
        time.sleep(0.2)
    pytest.fail("the second delivery never waited for the first one's lock")


@pytest.fixture(params=["postgresql", "mariadb"])
def server_app(inbox_backend_app, request):
    with inbox_backend_app(request.param) as app:
        yield app


def the_event(account_id: int) -> dict[str, Any]:
    state = SubState("stripe", "sub_race", account_id, "pro", "active", AT, AT + 86400 * 30)
    return stripe_event("evt_race", state)


def assert_applied_once() -> None:
    stored = inbox()["evt_race"]
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert len(subscription_rows()) == 1
    assert [event.action for event in subscription_audit("evt_race")] == ["subscription.created"]


def test_a_delivery_racing_an_uncommitted_insert_is_a_duplicate(server_app) -> None:
    payload = the_event(make_account("acme").id)
    body = json.dumps(payload).encode()
    event = get_provider("stripe").verify_webhook(body, stripe_headers(body))
    inserted, release = threading.Event(), threading.Event()

    def first_connection() -> str:
        with server_app.app_context():
            row, created = record_event(event)  # the key is taken, not yet committed
            assert created
            inserted.set()
            assert release.wait(WAIT_SECONDS)
            db.session.commit()
            process_event(row)
            db.session.commit()
            return row.status

    first = run_in_thread(first_connection)
    assert inserted.wait(WAIT_SECONDS)
    second = run_in_thread(lambda: deliver(server_app.test_client(), "stripe", payload))
    wait_until_a_connection_waits_for_a_lock()  # its INSERT waits on the unique key
    release.set()
    assert result_of(*first) == "processed"
    response = result_of(*second)
    assert response.status_code == 200, response.json
    assert response.json["duplicate"] is True
    assert_applied_once()


def test_a_delivery_racing_an_unfinished_apply_waits_and_does_not_apply(
    server_app, monkeypatch
) -> None:
    payload = the_event(make_account("acme").id)
    applying, release = threading.Event(), threading.Event()
    real_apply = services._apply

    def slow_first_apply(event, states):
        # Only the first delivery pauses here, holding its claim on the event's row.
        if not applying.is_set():
            applying.set()
            assert release.wait(WAIT_SECONDS)
        return real_apply(event, states)

    monkeypatch.setattr(services, "_apply", slow_first_apply)
    first = run_in_thread(lambda: deliver(server_app.test_client(), "stripe", payload))
    assert applying.wait(WAIT_SECONDS)
    second = run_in_thread(lambda: deliver(server_app.test_client(), "stripe", payload))
    wait_until_a_connection_waits_for_a_lock()  # its claim waits on the first one's
    release.set()
    responses = [result_of(*first), result_of(*second)]
    assert [r.status_code for r in responses] == [200, 200]
    assert [r.json["status"] for r in responses] == ["processed", "processed"]
    assert_applied_once()


def test_many_simultaneous_deliveries_of_one_event_apply_it_once(server_app) -> None:
    payload = the_event(make_account("acme").id)
    start = threading.Barrier(4)

    def delivery() -> int:
        start.wait(WAIT_SECONDS)
        return deliver(server_app.test_client(), "stripe", payload).status_code

    threads = [run_in_thread(delivery) for _ in range(4)]
    assert [result_of(*thread) for thread in threads] == [200] * 4
    assert_applied_once()

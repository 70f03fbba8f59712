"""The statements one webhook delivery sends, pinned per backend.

Ingest cost is mostly round trips and per-statement overhead, so a change that adds a query
per event (a reload, a look-up already done, a flush of its own) fails here, with the list
of statements to compare. Counting statements is deterministic: no timing is asserted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tiergate.db import db

from ...accounts.factories import make_account
from ...backends import BACKENDS
from .support import SubState, deliver, inbox, stripe_event

AT = 1_767_268_800  # 2026-01-01 12:00 UTC

#: The reads and writes of every delivery, whatever the backend.
STORE = ["INSERT tiergate_webhook_event"]
MAP = ["SELECT subscription_tier", "SELECT tiergate_account"]
CLAIM = ["UPDATE tiergate_webhook_event"]
FINISH = ["UPDATE tiergate_webhook_event"]
#: Applying a state: the account's entitlements version bumped first (which locks the account
#: row before the subscription row, the one lock order that keeps concurrent events for one
#: account from deadlocking), then inside its savepoint the subscription locked, written and
#: its audit event recorded. The same statements as before, the account's UPDATE moved first.
#: A change of what counts as a renewing paid plan (a new subscription, a new status or tier)
#: also recomputes the account's billed_twice flag, in the flush that writes the subscription:
#: one more UPDATE of the account (a renewal's new dates do not).
BILLED_TWICE = "UPDATE tiergate_account"
CREATE = [
    "UPDATE tiergate_account",
    "SAVEPOINT",
    "SELECT tiergate_subscription",
    "INSERT tiergate_subscription",
    BILLED_TWICE,
    "INSERT tiergate_audit_event",
    "RELEASE SAVEPOINT",
]
UPDATE = [
    "UPDATE tiergate_account",
    "SAVEPOINT",
    "SELECT tiergate_subscription",
    "INSERT tiergate_audit_event",
    "UPDATE tiergate_subscription",
    BILLED_TWICE,
    "RELEASE SAVEPOINT",
]
#: SQLite has SQLAlchemy emit BEGIN (IMMEDIATE: the inbox writes); the others begin implicitly.
BEGIN = {"sqlite": ["BEGIN IMMEDIATE"]}

_TABLE = re.compile(r"^(SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM)\s+[\"`]?(\w+)", re.S)


def _kind(statement: str) -> str:
    """Return a statement as its verb and first table: 'SELECT account', 'BEGIN IMMEDIATE'."""
    text = " ".join(statement.split())
    match = _TABLE.match(text)
    if match is None:
        return re.sub(r" sa_savepoint_\d+$", "", text)
    return f"{match.group(1).split()[0]} {match.group(2)}"


@contextmanager
def statements() -> Iterator[list[str]]:
    """Collect the kinds of the statements sent inside the block."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(_kind(statement))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def expected(backend: str, apply: list[str]) -> list[str]:
    begin = BEGIN.get(backend, [])
    return [*begin, *STORE, *begin, *MAP, *CLAIM, *apply, *FINISH]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_delivery_costs_one_insert_then_one_transaction_of_eleven(
    inbox_backend_app, backend
) -> None:
    with inbox_backend_app(backend) as app:
        # Pinned here: the delivery's own statements. Settling the account with its provider
        # afterwards is a separate read (tests/billing/lifecycle/test_settle_cost.py).
        app.config["TIERGATE_SETTLE_AFTER_COMMIT"] = False
        client = app.test_client()
        account = make_account("acme")
        states = [
            SubState("stripe", "sub_1", account.id, tier, status, AT + step, AT + days * 86400)
            for step, (tier, status, days) in enumerate(
                [("pro", "trialing", 1), ("team", "active", 1), ("team", "active", 31)]
            )
        ]
        db.session.remove()  # nothing loaded beforehand: each delivery starts cold
        with statements() as created:
            assert deliver(client, "stripe", stripe_event("evt_1", states[0])).status_code == 200
        with statements() as updated:
            assert deliver(client, "stripe", stripe_event("evt_2", states[1])).status_code == 200
        with statements() as renewed:
            assert deliver(client, "stripe", stripe_event("evt_3", states[2])).status_code == 200
        assert created == expected(backend, CREATE)
        assert updated == expected(backend, UPDATE)
        assert UPDATE[-2] == BILLED_TWICE
        assert renewed == expected(backend, [*UPDATE[:-2], UPDATE[-1]])  # no flag to recompute
        assert {row.status for row in inbox().values()} == {"processed"}


def test_a_duplicate_costs_the_refused_insert_and_one_look_up(inbox_app) -> None:
    client = inbox_app.test_client()
    account = make_account("acme")
    payload = stripe_event(
        "evt_1", SubState("stripe", "sub_1", account.id, "pro", "active", AT, AT)
    )
    assert deliver(client, "stripe", payload).status_code == 200
    db.session.remove()
    with statements() as duplicate:
        response = deliver(client, "stripe", payload)
    assert response.status_code == 200
    assert response.json["duplicate"] is True
    # The INSERT is refused by the unique key and rolled back; the stored row is then read.
    assert duplicate == [
        "BEGIN IMMEDIATE",
        "INSERT tiergate_webhook_event",
        "BEGIN",
        "SELECT tiergate_webhook_event",
    ]

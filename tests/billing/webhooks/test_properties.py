"""Idempotency and order: any redelivery order ends where in-order delivery does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ...accounts.factories import make_account
from .histories import (
    History,
    check_audit_trail,
    deliver_all,
    histories,
    redeliveries,
)
from .support import clean_billing, inbox, subscription_audit, subscription_rows

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def expected_rows(history: History, tier_keys: dict[str, str] | None = None) -> list[tuple]:
    rows = []
    for sub_id, states in sorted(history.by_subscription().items()):
        last = states[-1]
        rows.append(
            (
                last.provider,
                sub_id,
                last.account_id,
                last.tier_key,
                last.status,
                datetime.fromtimestamp(last.period_end, UTC),
                last.cancel_at_period_end,
                datetime.fromtimestamp(last.at, UTC),
            )
        )
    return sorted(rows)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_redelivery_in_any_order_ends_in_the_in_order_state(inbox_backend_app, backend) -> None:
    with inbox_backend_app(backend) as app:
        account_ids = [make_account(slug).id for slug in ("acme", "globex", "initech")]
        client = app.test_client()

        @PROPERTY_SETTINGS
        @given(history=histories(account_ids), seed=st.integers(0, 2**32 - 1))
        def check(history: History, seed: int) -> None:
            clean_billing()
            assert set(deliver_all(client, history.events)) == {200}
            in_order = subscription_rows()
            assert sorted(in_order) == expected_rows(history)
            in_order_audit = subscription_audit()
            assert len(in_order_audit) == history.real_changes()

            clean_billing()
            assert set(deliver_all(client, redeliveries(history, seed))) == {200}
            assert subscription_rows() == in_order
            assert len(in_order) == len(history.by_subscription())
            stored = inbox()
            assert sorted(stored) == sorted(event_id for event_id, _ in history.events)
            assert {(row.status, row.attempts) for row in stored.values()} == {("processed", 1)}
            audit = subscription_audit()
            assert len(audit) <= len(in_order_audit)
            check_audit_trail(audit, history)

        check()

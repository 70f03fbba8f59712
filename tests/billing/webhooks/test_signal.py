"""``webhook_event_processed``: sent once an event's outcome is committed."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tiergate.accounts.models import Account
from tiergate.signals import webhook_event_processed

from ...conftest import http_client
from .support import SubState, deliver, stripe_event

AT = 1_767_268_800  # 2026-01-01 12:00 UTC


def test_the_outcome_of_each_processed_event_is_announced(
    inbox_app: Flask, accounts: list[Account]
) -> None:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Flask, **extra: Any) -> None:
        calls.append(extra)

    state = SubState("stripe", "sub_1", accounts[0].id, "pro", "active", AT, AT + 86_400)
    client = http_client(inbox_app)
    with webhook_event_processed.connected_to(receiver, sender=inbox_app):
        first = deliver(client, "stripe", stripe_event("evt_1", state))
        again = deliver(client, "stripe", stripe_event("evt_1", state))  # a duplicate
    assert first.status_code == again.status_code == 200
    assert [(c["provider"], c["type"], c["status"]) for c in calls] == [
        ("stripe", "customer.subscription.updated", "processed")
    ]
    assert isinstance(calls[0]["event_id"], int)

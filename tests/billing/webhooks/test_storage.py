"""The inbox table on every backend: the largest body fits, the key is unique."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db

from ...accounts.factories import make_account
from ...backends import BACKENDS
from .support import SubState, deliver, inbox, stripe_event

AT = 1_767_268_800


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_one_mib_event_is_stored_whole_and_applied(inbox_backend_app, backend) -> None:
    with inbox_backend_app(backend) as app:
        account = make_account("acme")
        state = SubState("stripe", "sub_1", account.id, "pro", "active", AT, AT + 86400)
        payload = stripe_event("evt_large", state)
        payload["padding"] = ""
        payload["padding"] = "é" * ((1024 * 1024 - len(json.dumps(payload).encode())) // 6)
        assert len(json.dumps(payload).encode()) > 1024 * 1024 - 6
        response = deliver(app.test_client(), "stripe", payload)
        assert response.status_code == 200, response.json
        stored = inbox()["evt_large"]
        assert stored.payload == payload
        assert stored.status == "processed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_provider_and_event_id_are_unique_together(inbox_backend_app, backend) -> None:
    with inbox_backend_app(backend):

        def row(provider: str) -> WebhookEvent:
            now = datetime.now(UTC)
            return WebhookEvent(
                provider=provider,
                provider_event_id="evt_1",
                type="t",
                received_at=now,
                provider_created_at=now,
                payload={},
            )

        db.session.add_all([row("stripe"), row("whop")])
        db.session.commit()
        db.session.add(row("stripe"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 2

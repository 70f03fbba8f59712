"""The inbox at a glance (`events stats`, /healthz) and its retention (`events prune`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.billing.webhooks.inbox import inbox_stats, prune_batch, prune_cutoff
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db, utcnow
from tiergate.errors import ValidationError

from ...accounts.factories import make_account
from ...backends import BACKENDS
from .support import SubState, deliver, inbox, stripe_event

AT = 1_767_268_800


def stored(provider_event_id: str, status: str, received_at: datetime) -> WebhookEvent:
    """Store an event as the inbox holds it, ``status`` and all (no apply)."""
    row = WebhookEvent(
        provider="stripe",
        provider_event_id=provider_event_id,
        type="customer.subscription.updated",
        received_at=received_at,
        provider_created_at=received_at,
        payload={"id": provider_event_id},
        status=status,
    )
    db.session.add(row)
    db.session.commit()
    return row


def statuses() -> dict[str, str]:
    return {event_id: row.status for event_id, row in inbox().items()}


@pytest.fixture
def aged(inbox_app: Flask) -> datetime:
    """Two of each status: one received 100 days ago, one an hour ago."""
    now = utcnow()
    for status in ("received", "processed", "ignored", "failed"):
        stored(f"evt_old_{status}", status, now - timedelta(days=100))
        stored(f"evt_new_{status}", status, now - timedelta(hours=1))
    return now


def test_stats_count_each_status_and_age_the_oldest_unapplied_event(inbox_app, aged) -> None:
    stats = inbox_stats(aged)
    assert stats.by_status == {"received": 2, "processed": 2, "ignored": 2, "failed": 2}
    assert stats.backlog == 2 and stats.failed == 2
    assert stats.oldest_unapplied_seconds == pytest.approx(100 * 86400, abs=1)
    assert stats.as_json()["backlog"] == 2


def test_stats_of_an_inbox_where_everything_was_applied(inbox_app) -> None:
    acme = make_account("acme").id
    client = inbox_app.test_client()
    state = SubState("stripe", "sub_1", acme, "pro", "active", AT, AT + 86400)
    assert deliver(client, "stripe", stripe_event("evt_ok", state)).status_code == 200
    db.session.rollback()  # end the read begun before the delivery committed
    stats = inbox_stats(utcnow())
    assert stats.by_status == {"received": 0, "processed": 1, "ignored": 0, "failed": 0}
    assert stats.oldest_unapplied_at is None
    assert stats.as_json() == {"backlog": 0, "failed": 0, "oldest_unapplied_seconds": None}


def test_events_stats_command(inbox_app, aged) -> None:
    result = inbox_app.test_cli_runner().invoke(args=["events", "stats"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines()[:4])
    assert {status: int(count) for status, count in lines.items()} == {
        "received": 2,
        "processed": 2,
        "ignored": 2,
        "failed": 2,
    }
    assert "backlog             2" in result.output
    oldest = (aged - timedelta(days=100)).strftime("%Y-%m-%d %H:%M")
    assert f"oldest unapplied: received {oldest}" in result.output


def test_prune_deletes_only_old_applied_and_ignored_events(inbox_app, aged) -> None:
    result = inbox_app.test_cli_runner().invoke(
        args=["events", "prune", "--older-than", "30", "--batch-size", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "pruned 2 events received before" in result.output
    assert "pruned 1 so far" in result.output  # one batch at a time
    db.session.expire_all()
    assert sorted(statuses()) == [
        "evt_new_failed",
        "evt_new_ignored",
        "evt_new_processed",
        "evt_new_received",
        "evt_old_failed",  # failed: kept until resolved
        "evt_old_received",  # not yet applied: never deleted
    ]


def test_prune_defaults_to_the_retention_setting(inbox_app, aged) -> None:
    inbox_app.config["TIERGATE_WEBHOOK_RETENTION_DAYS"] = 365
    runner = inbox_app.test_cli_runner()
    result = runner.invoke(args=["events", "prune"])
    assert result.exit_code == 0, result.output
    assert "pruned 0 events" in result.output
    inbox_app.config["TIERGATE_WEBHOOK_RETENTION_DAYS"] = 90
    assert "pruned 2 events" in runner.invoke(args=["events", "prune"]).output


@pytest.mark.parametrize("days", ["0", "-3", "nan"])
def test_prune_refuses_a_retention_that_is_not_positive(inbox_app, aged, days) -> None:
    result = inbox_app.test_cli_runner().invoke(args=["events", "prune", "--older-than", days])
    assert result.exit_code != 0
    assert "the retention must be more than 0 days" in result.output
    count = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))
    assert count == 8


def test_prune_batch_refuses_an_empty_batch(inbox_app, aged) -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        prune_batch(prune_cutoff(aged, 1), 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_prune_on_every_backend(inbox_backend_app, backend) -> None:
    with inbox_backend_app(backend) as app:
        now = utcnow()
        for status in ("received", "processed", "ignored", "failed"):
            stored(f"evt_{status}", status, now - timedelta(days=100))
        assert prune_batch(prune_cutoff(now, 30), 10) == 2
        db.session.commit()
        assert sorted(statuses()) == ["evt_failed", "evt_received"]
        body = app.test_client().get("/healthz").get_json()
        assert body["webhooks"]["backlog"] == 1 and body["webhooks"]["failed"] == 1


def test_healthz_reports_the_backlog(inbox_app, aged) -> None:
    response = inbox_app.test_client().get("/healthz")
    assert response.status_code == 200  # a backlog is reported, not a failed check
    webhooks = response.get_json()["webhooks"]
    assert webhooks["backlog"] == 2 and webhooks["failed"] == 2
    assert webhooks["oldest_unapplied_seconds"] == pytest.approx(100 * 86400, abs=60)

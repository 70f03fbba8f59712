"""Acknowledge, then apply: the answer before the apply, `tiergate worker`, the web applier."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.billing.models import Subscription
from tiergate.billing.webhooks.applier import APPLIER_KEY
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db, utcnow
from tiergate.entitlements.services import fresh_entitlements
from tiergate.errors import ConfigurationError
from tiergate.signals import webhook_event_processed

from ...accounts.factories import make_account, make_catalog
from ...conftest import make_app
from .processes import wait_for
from .support import WEBHOOK_CONFIG, SubState, deliver, inbox, stripe_event

AT = 1_767_268_800


def active(account_id: int, *, at: int = AT, tier: str = "pro") -> SubState:
    return SubState("stripe", "sub_1", account_id, tier, "active", at, at + 30 * 86400)


def app_in_mode(tmp_path: Path, template: Path, mode: str, **overrides: Any) -> Iterator[Flask]:
    path = tmp_path / f"{mode}.sqlite3"
    shutil.copyfile(template, path)
    application = make_app(
        f"sqlite:///{path}", **WEBHOOK_CONFIG, TIERGATE_WEBHOOK_APPLY=mode, **overrides
    )
    with application.app_context():
        make_catalog()
        try:
            yield application
        finally:
            applier = application.extensions.get(APPLIER_KEY)
            if applier is not None:
                applier.stop()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def worker_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """An app whose web requests only acknowledge: `tiergate worker` applies."""
    yield from app_in_mode(tmp_path, sqlite_template, "worker")


@pytest.fixture
def background_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The standalone app as it runs by default: its own thread applies acknowledged events."""
    yield from app_in_mode(tmp_path, sqlite_template, "background")


def run_worker_once(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def subscription_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) or 0


def test_a_delivery_is_acknowledged_stored_and_not_applied(worker_app: Flask) -> None:
    account = make_account("acme")
    response = deliver(
        worker_app.test_client(), "stripe", stripe_event("evt_1", active(account.id))
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "received": True,
        "event": "evt_1",
        "status": "received",
        "duplicate": False,
    }
    assert inbox()["evt_1"].status == "received"
    assert inbox()["evt_1"].attempts == 0
    assert subscription_count() == 0
    again = deliver(worker_app.test_client(), "stripe", stripe_event("evt_1", active(account.id)))
    assert again.get_json()["duplicate"] is True
    assert len(inbox()) == 1


def test_the_worker_applies_waiting_events_once_and_announces_them(worker_app: Flask) -> None:
    account = make_account("acme")
    client = worker_app.test_client()
    deliver(client, "stripe", stripe_event("evt_1", active(account.id)))
    deliver(client, "stripe", stripe_event("evt_2", active(account.id, at=AT + 60, tier="team")))
    announced: list[dict[str, Any]] = []

    def record(sender: Flask, **outcome: Any) -> None:
        announced.append(outcome)

    with webhook_event_processed.connected_to(record, worker_app):
        assert "applied 2 events" in run_worker_once(worker_app)
    stored = inbox()
    assert {(row.status, row.attempts) for row in stored.values()} == {("processed", 1)}
    assert [outcome["status"] for outcome in announced] == ["processed", "processed"]
    assert fresh_entitlements(account).tier_key == "team"
    assert "applied 0 events" in run_worker_once(worker_app)
    assert {row.attempts for row in inbox().values()} == {1}
    again = deliver(client, "stripe", stripe_event("evt_1", active(account.id)))
    assert again.get_json() == {
        "received": True,
        "event": "evt_1",
        "status": "processed",
        "duplicate": True,
    }


def test_a_failing_event_is_retried_with_backoff_then_left_failed(tmp_path, sqlite_template):
    for app in app_in_mode(
        tmp_path,
        sqlite_template,
        "worker",
        TIERGATE_WEBHOOK_MAX_ATTEMPTS=2,
        TIERGATE_WEBHOOK_RETRY_SECONDS=60.0,
    ):
        account = make_account("acme")
        unknown = stripe_event("evt_gold", active(account.id), lookup_key="gold_monthly")
        deliver(app.test_client(), "stripe", unknown)
        before = utcnow()
        run_worker_once(app)
        row = inbox()["evt_gold"]
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error.startswith("unknown_tier")
        assert row.next_attempt_at is not None
        assert before + timedelta(seconds=59) < row.next_attempt_at
        assert row.next_attempt_at < utcnow() + timedelta(seconds=61)
        # Not due yet: the worker leaves it alone.
        assert "applied 0 events" in run_worker_once(app)
        assert inbox()["evt_gold"].attempts == 1
        # Due: tried again; the second failure is the last automatic one.
        db.session.execute(
            sa.update(WebhookEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert "applied 1 events" in run_worker_once(app)
        row = inbox()["evt_gold"]
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
        assert "applied 0 events" in run_worker_once(app)
        # Left for a replay once the catalog is fixed.
        result = app.test_cli_runner().invoke(args=["events", "replay", str(row.id)])
        assert result.exit_code == 1  # still failing: the catalog has no gold tier
        assert inbox()["evt_gold"].attempts == 3


def test_the_background_applier_applies_an_acknowledged_event_promptly(
    background_app: Flask,
) -> None:
    account = make_account("acme")
    announced: list[str] = []

    def record(sender: Flask, **outcome: Any) -> None:
        announced.append(outcome["status"])

    with webhook_event_processed.connected_to(record, background_app):
        response = deliver(
            background_app.test_client(), "stripe", stripe_event("evt_1", active(account.id))
        )
        assert response.status_code == 200
        assert response.get_json()["status"] == "received"

        def applied() -> bool:
            return inbox()["evt_1"].status == "processed"

        wait_for(applied, "the applier to apply evt_1", timeout=15)
        wait_for(lambda: announced == ["processed"], "the processed signal", timeout=5)
    assert inbox()["evt_1"].attempts == 1
    assert fresh_entitlements(account).tier_key == "pro"


def test_the_background_applier_picks_up_events_left_waiting(
    tmp_path: Path, sqlite_template: Path
) -> None:
    for app in app_in_mode(tmp_path, sqlite_template, "background"):
        account = make_account("acme")
        # Stored by a process that stopped before applying it (a crash after the answer).
        app.config["TIERGATE_WEBHOOK_APPLY"] = "worker"
        app.extensions[APPLIER_KEY], applier = None, app.extensions[APPLIER_KEY]
        deliver(app.test_client(), "stripe", stripe_event("evt_left", active(account.id)))
        assert inbox()["evt_left"].status == "received"
        app.extensions[APPLIER_KEY] = applier
        # Any request starts the process's applier, which finds the leftover on its own.
        app.test_client().get("/healthz")
        wait_for(
            lambda: inbox()["evt_left"].status == "processed", "the leftover to be applied", 15
        )


def test_an_unknown_apply_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TIERGATE_WEBHOOK_APPLY='later'"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", TIERGATE_WEBHOOK_APPLY="later")


def test_a_host_app_gets_flask_tiergate_worker() -> None:
    from tiergate.commands import tiergate_group

    worker = tiergate_group().commands["worker"]
    assert {param.name for param in worker.params} == {"once", "poll_seconds"}

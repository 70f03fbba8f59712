"""Workers sharing one inbox on PostgreSQL and MariaDB: claims, crashes and order.

Real worker processes (`tiergate worker`), a real server (`tiergate serve`) and SIGKILL: an
event is applied exactly once however many workers run, and a process killed at any point
between the acknowledgement and the commit of the apply loses nothing.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiergate.billing.webhooks.worker import drain
from tiergate.db import db

from ...accounts.factories import make_account
from .histories import History, check_audit_trail, deliver_all, histories
from .processes import (
    account_locked,
    claimed_by_someone,
    free_port,
    kill_group,
    process_env,
    running,
    server_url,
    tiergate_command,
    wait_for,
)
from .support import (
    SubState,
    clean_billing,
    deliver,
    inbox,
    stripe_event,
    stripe_headers,
    subscription_audit,
    subscription_rows,
)
from .test_properties import expected_rows

AT = 1_767_268_800
BACKENDS = ["postgresql", "mariadb"]
AppFactory = Callable[..., AbstractContextManager[Flask]]


def state(account_id: int, number: int, *, at: int = AT) -> SubState:
    tier = "pro" if number % 2 else "team"
    return SubState("stripe", f"sub_{number}", account_id, tier, "active", at, at + 30 * 86400)


def url_of(app: Flask) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def run_worker_once(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_never_apply_the_same_event(
    inbox_backend_app: AppFactory, backend: str, tmp_path: Path
) -> None:
    with inbox_backend_app(backend, TIERGATE_WEBHOOK_APPLY="worker") as app:
        accounts = [make_account(f"acct-{n}").id for n in range(6)]
        client = app.test_client()
        events = 60
        for number in range(events):
            account = accounts[number % len(accounts)]
            payload = stripe_event(f"evt_{number}", state(account, number, at=AT + number))
            assert deliver(client, "stripe", payload).status_code == 200
        env = process_env(url_of(app))
        command = tiergate_command("worker", "--once")
        with (
            running(command, env, tmp_path / "one.log") as one,
            running(command, env, tmp_path / "two.log") as two,
        ):
            assert one.wait(timeout=120) == 0, (tmp_path / "one.log").read_text()
            assert two.wait(timeout=120) == 0, (tmp_path / "two.log").read_text()
        counts = [
            int((tmp_path / name).read_text().rsplit("applied ", 1)[1].split()[0])
            for name in ("one.log", "two.log")
        ]
        assert sum(counts) == events, counts
        stored = inbox()
        assert {(row.status, row.attempts) for row in stored.values()} == {("processed", 1)}
        actors = [audit.actor_id for audit in subscription_audit()]
        assert len(actors) == len(set(actors)) == events


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_mid_apply_leaves_its_event_claimable(
    inbox_backend_app: AppFactory, backend: str, tmp_path: Path
) -> None:
    with inbox_backend_app(backend, TIERGATE_WEBHOOK_APPLY="worker") as app:
        account = make_account("acme").id
        deliver(app.test_client(), "stripe", stripe_event("evt_1", state(account, 1)))
        event_id = inbox()["evt_1"].id
        url = url_of(app)
        log = tmp_path / "worker.log"
        command = tiergate_command("worker", "--poll", "0.1")
        with account_locked(url, account), running(command, process_env(url), log) as worker:
            # The worker has claimed the event and waits for the account mid-apply.
            wait_for(lambda: claimed_by_someone(url, event_id), "the worker's claim")
            kill_group(worker)
        # The database ends the dead worker's transaction: its claim goes, its apply too.
        wait_for(lambda: not claimed_by_someone(url, event_id), "the claim to be released")
        row = inbox()["evt_1"]
        assert (row.status, row.attempts) == ("received", 0)
        assert subscription_rows() == []
        assert "applied 1 events" in run_worker_once(app)
        row = inbox()["evt_1"]
        assert (row.status, row.attempts) == ("processed", 1)
        assert len(subscription_audit()) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_server_killed_between_acknowledgement_and_apply_loses_nothing(
    inbox_backend_app: AppFactory, backend: str, tmp_path: Path
) -> None:
    with inbox_backend_app(backend) as app:
        account = make_account("acme").id
        url = url_of(app)
        port = free_port()
        env = process_env(
            url, TIERGATE_WEBHOOK_APPLY="background", TIERGATE_WEBHOOK_POLL_SECONDS="0.1"
        )
        log = tmp_path / "server.log"
        command = tiergate_command("serve", "--workers", "1", "--port", str(port))
        body = json.dumps(stripe_event("evt_1", state(account, 1))).encode()
        with account_locked(url, account), running(command, env, log) as server:
            base = server_url(port, server, log)
            answer = httpx.post(
                base + "/webhooks/stripe", content=body, headers=stripe_headers(body)
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "received"
            event_id = inbox()["evt_1"].id
            # Its applier took the event and waits for the account: kill the server now.
            wait_for(lambda: claimed_by_someone(url, event_id), "the applier's claim")
            kill_group(server)
        wait_for(lambda: not claimed_by_someone(url, event_id), "the claim to be released")
        assert inbox()["evt_1"].status == "received"
        assert subscription_rows() == []
        assert "applied 1 events" in run_worker_once(app)
        assert inbox()["evt_1"].status == "processed"
        assert len(subscription_audit()) == 1


ORDER_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def apply_with_workers(app: Flask, workers: int) -> None:
    """Drain the inbox with ``workers`` threads, each with its own session and connection."""
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        with app.app_context():
            try:
                start.wait()
                drain()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_workers_keep_each_subscriptions_order(
    inbox_backend_app: AppFactory, backend: str
) -> None:
    with inbox_backend_app(backend, TIERGATE_WEBHOOK_APPLY="worker") as app:
        account_ids = [make_account(slug).id for slug in ("acme", "globex", "initech")]
        client = app.test_client()

        @ORDER_SETTINGS
        @given(history=histories(account_ids), seed=st.integers(0, 2**32 - 1))
        def check(history: History, seed: int) -> None:
            clean_billing()
            # Acknowledged in any order (each once), then applied by four concurrent workers.
            deliveries = list(history.events)
            random.Random(seed).shuffle(deliveries)
            assert set(deliver_all(client, deliveries)) == {200}
            apply_with_workers(app, 4)
            assert sorted(subscription_rows()) == expected_rows(history)
            stored = inbox()
            assert {(row.status, row.attempts) for row in stored.values()} == {("processed", 1)}
            check_audit_trail(subscription_audit(), history)

        check()

"""What the webhook inbox costs. Run: `uv run python -m benchmarks.bench_webhooks`.

For SQLite and PostgreSQL (a fresh database; skipped with a message when the server is not
reachable): migrate, seed a catalog and accounts, pre-sign a stream of Stripe subscription
events (several states per subscription, in provider order), then:

1. Acknowledge them one by one as the endpoint does: verify the signature on the raw body,
   store and commit the event. The baseline verifies the same bodies and does a bare INSERT
   of the same row plus a commit. Prints events/s for both and the ratio (target >= 0.9),
   the median of several alternating rounds, each on an emptied inbox.
2. PostgreSQL: apply a stored backlog with 1, 2 and 4 worker processes (events/s).
3. Freshness: post each event through the endpoint with the background applier running and
   time the acknowledgement to the account's entitlements showing the event (p50/p99).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import stripe

from tiergate import create_app
from tiergate.accounts.services import create_account
from tiergate.audit.models import AuditEvent
from tiergate.audit.services import Actor
from tiergate.billing.models import Subscription
from tiergate.billing.providers import get_provider
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.billing.webhooks.services import store_event
from tiergate.catalog import services as catalog
from tiergate.db import db, utcnow
from tiergate.migrate import upgrade_database

from .support import database

WEBHOOK_SECRET = "whsec_benchmark_only"
START = 1_767_268_800  # 2026-01-01 12:00 UTC
STATUSES = ("trialing", "active", "past_due", "active", "canceled")

Delivery = tuple[bytes, dict[str, str]]


def make_bench_app(url: str, config: dict[str, Any] | None = None) -> Any:
    return create_app(
        {
            "TIERGATE_DATABASE_URL": url,
            "SECRET_KEY": "benchmark-only-secret",
            "TIERGATE_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TIERGATE_SQLITE_BACKUP": False,
            # Webhook work only: no e-mail queued or sent beside it (and none left running
            # against a database the benchmark drops when it ends).
            "TIERGATE_MAIL_SEND_AFTER_COMMIT": False,
            "TIERGATE_MAIL_BILLING_NOTICES": False,
            **(config or {}),
        }
    )


def seed(accounts: int) -> list[int]:
    """Create the catalog's Stripe tiers and ``accounts`` accounts; return their ids."""
    for key in ("pro", "team"):
        catalog.create_tier(key, key.title(), billing_provider="stripe", stripe_lookup_key=key)
    actor = Actor.system("benchmark")
    ids = [
        create_account(f"Bench {n}", slug=f"bench-{n}", owner=None, actor=actor).id
        for n in range(accounts)
    ]
    db.session.commit()
    return ids


def payloads(account_ids: list[int], states: int) -> list[dict[str, Any]]:
    """Return Stripe events: ``states`` states per account's subscription, in provider order."""
    events = []
    for step in range(states):
        for number, account_id in enumerate(account_ids):
            at = START + step * 3600 + number
            events.append(
                {
                    "id": f"evt_{step}_{number}",
                    "object": "event",
                    "type": "customer.subscription.updated",
                    "created": at,
                    "data": {"object": _subscription(number, account_id, step, at)},
                }
            )
    return events


def _subscription(number: int, account_id: int, step: int, at: int) -> dict[str, Any]:
    key = "pro" if step % 3 else "team"
    return {
        "id": f"sub_{number}",
        "object": "subscription",
        "status": STATUSES[step % len(STATUSES)],
        "customer": f"cus_{number}",
        "cancel_at_period_end": False,
        "trial_end": None,
        "metadata": {"tiergate_account_id": str(account_id)},
        "items": {"data": [{"current_period_end": at + 30 * 86400, "price": {"lookup_key": key}}]},
    }


def sign(events: list[dict[str, Any]]) -> list[Delivery]:
    deliveries = []
    for payload in events:
        body = json.dumps(payload).encode()
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
        deliveries.append((body, {"Stripe-Signature": header}))
    return deliveries


def ingest_inbox(deliveries: list[Delivery]) -> None:
    """What POST /webhooks/stripe does before it answers, minus HTTP: verify, store, commit."""
    provider = get_provider("stripe")
    for body, headers in deliveries:
        event = provider.verify_webhook(body, headers)
        _status, created = store_event(event)
        db.session.commit()
        if not created:
            raise RuntimeError(f"event {event.id} was stored already")


def ingest_baseline(deliveries: list[Delivery]) -> None:
    """Verify, then a bare INSERT of the same row (one prepared statement) and a commit."""
    provider = get_provider("stripe")
    insert = WebhookEvent.__table__.insert()
    for body, headers in deliveries:
        event = provider.verify_webhook(body, headers)
        db.session.execute(
            insert,
            {
                "provider": event.provider,
                "provider_event_id": event.id,
                "type": event.type,
                "received_at": utcnow(),
                "provider_created_at": event.created,
                "payload": event.payload,
                "status": "received",
                "attempts": 0,
            },
        )
        db.session.commit()


def empty_inbox() -> None:
    db.session.execute(sa.delete(WebhookEvent))
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.target_type == "subscription"))
    db.session.execute(sa.delete(Subscription))
    db.session.commit()


def timed(run: Any, deliveries: list[Delivery]) -> float:
    """Return events per second of ``run`` over ``deliveries``, on an emptied inbox."""
    empty_inbox()
    started = time.perf_counter()
    run(deliveries)
    return len(deliveries) / (time.perf_counter() - started)


def counted(run: Any, deliveries: list[Delivery]) -> tuple[float, float]:
    """Return the SQL statements and the commits per event of ``run`` (an untimed pass)."""
    empty_inbox()
    counts = {"statements": 0, "commits": 0}

    def statement(*_args: Any) -> None:
        counts["statements"] += 1

    def commit(*_args: Any) -> None:
        counts["commits"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", statement)
    sa.event.listen(db.engine, "commit", commit)
    try:
        run(deliveries)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", statement)
        sa.event.remove(db.engine, "commit", commit)
    return counts["statements"] / len(deliveries), counts["commits"] / len(deliveries)


@dataclass
class Result:
    """Medians over the rounds, and the statements and commits per event of each path."""

    inbox: float
    baseline: float
    ratio: float
    inbox_counts: tuple[float, float]
    baseline_counts: tuple[float, float]


def measure(url: str, args: argparse.Namespace, config: dict[str, Any]) -> Result:
    """Measure both paths on one app, engine and connection settings, alternating."""
    app = make_bench_app(url, config)
    with app.app_context():
        upgrade_database("head")
        deliveries = sign(payloads(seed(args.accounts), args.states))
        for run in (ingest_inbox, ingest_baseline):  # warm both paths up
            timed(run, deliveries[: args.warmup])
        inbox, baseline, ratios = [], [], []
        for number in range(args.rounds):
            # Alternate which path goes first, so neither always runs on a warmer cache.
            rates: dict[Any, float] = {}
            order = (ingest_baseline, ingest_inbox)
            for run in order if number % 2 == 0 else order[::-1]:
                rates[run] = timed(run, deliveries)
            inbox.append(rates[ingest_inbox])
            baseline.append(rates[ingest_baseline])
            ratios.append(inbox[-1] / baseline[-1])
        counts = (counted(ingest_inbox, deliveries), counted(ingest_baseline, deliveries))
        db.session.remove()
        db.engine.dispose()
    median = statistics.median
    return Result(median(inbox), median(baseline), median(ratios), *counts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--sqlite-synchronous",
        default="FULL,NORMAL",
        help="the PRAGMA synchronous values to measure SQLite with (TIERGATE_SQLITE_SYNCHRONOUS)",
    )
    parser.add_argument("--accounts", type=int, default=40, help="one subscription each")
    parser.add_argument("--states", type=int, default=5, help="events per subscription")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--workers", default="1,2,4", help="apply worker processes to measure")
    parser.add_argument("--fresh-events", type=int, default=200, help="events timed for freshness")
    return parser.parse_args(argv)


def runs(args: argparse.Namespace) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (label, backend, config) for every measured configuration."""
    for backend in args.backends.split(","):
        if backend != "sqlite":
            yield backend, backend, {}
            continue
        for mode in args.sqlite_synchronous.split(","):
            config = {"TIERGATE_SQLITE_SYNCHRONOUS": mode.strip().upper()}
            yield f"sqlite (synchronous={config['TIERGATE_SQLITE_SYNCHRONOUS']})", backend, config


def report(label: str, result: Result) -> None:
    (inbox_statements, inbox_commits), (base_statements, base_commits) = (
        result.inbox_counts,
        result.baseline_counts,
    )
    print(
        f"{label}: inbox {result.inbox:.0f} events/s, verify+INSERT+commit "
        f"{result.baseline:.0f} events/s, ratio {result.ratio:.3f} (target >= 0.9); "
        f"per event: inbox {inbox_statements:.1f} statements + {inbox_commits:.0f} commits, "
        f"baseline {base_statements:.1f} statements + {base_commits:.0f} commit"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    events = args.accounts * args.states
    print(f"{events} signed Stripe events ({args.accounts} subscriptions x {args.states} states)")
    print("load average at start: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for label, backend, config in runs(args):
            with database(backend, Path(tmp), prefix="bench-webhooks") as url:
                if url is None:
                    continue
                result = measure(url, args, config)
                ok = ok and result.ratio >= 0.9
                report(label, result)
                if backend == "postgresql":
                    report_apply(url, args)
                if backend == "postgresql" or "NORMAL" not in label:
                    report_freshness(label, url, args)
    print("load average at end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    return 0 if ok else 1


def report_apply(url: str, args: argparse.Namespace) -> None:
    """Print the apply throughput of 1, 2 and 4 worker processes on a stored backlog."""
    app = make_bench_app(url, {"TIERGATE_WEBHOOK_APPLY": "worker"})
    with app.app_context():
        deliveries = sign(payloads(stored_account_ids(), args.states * 2))
    for workers in (int(number) for number in args.workers.split(",")):
        with app.app_context():
            empty_inbox()
            ingest_inbox(deliveries)
            db.session.remove()
            db.engine.dispose()
        elapsed = apply_with_processes(url, workers)
        with app.app_context():
            applied = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.status == "processed")
            )
            db.session.remove()
            db.engine.dispose()
        if applied != len(deliveries):
            raise RuntimeError(f"{workers} workers applied {applied} of {len(deliveries)}")
        print(
            f"postgresql apply: {workers} worker process(es): {len(deliveries)} events in "
            f"{elapsed:.2f} s, {len(deliveries) / elapsed:.0f} events/s"
        )


def stored_account_ids() -> list[int]:
    from tiergate.accounts.models import Account

    return list(db.session.scalars(sa.select(Account.id).order_by(Account.id)))


def apply_with_processes(url: str, workers: int) -> float:
    """Drain the inbox with ``workers`` processes started together; return the seconds taken."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Barrier(workers + 1), context.Event()
    processes = [
        context.Process(target=_apply_worker, args=(url, ready, go)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    ready.wait()  # every worker has built its app and connected
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"an apply worker exited with {process.exitcode}")
    return time.perf_counter() - started


def _apply_worker(url: str, ready: Any, go: Any) -> None:
    from tiergate.billing.webhooks.worker import drain

    app = make_bench_app(url, {"TIERGATE_WEBHOOK_APPLY": "worker"})
    with app.app_context():
        db.session.execute(sa.select(1))
        db.session.rollback()
        ready.wait()
        go.wait()
        drain()
        db.session.remove()


def report_freshness(label: str, url: str, args: argparse.Namespace) -> None:
    """Print p50/p99 of acknowledgement -> entitlements showing the event (background mode)."""
    from tiergate.billing.webhooks.applier import APPLIER_KEY
    from tiergate.entitlements.services import fresh_entitlements

    app = make_bench_app(url, {"TIERGATE_WEBHOOK_APPLY": "background"})
    client = app.test_client()
    latencies = []
    with app.app_context():
        empty_inbox()
        account_id = stored_account_ids()[0]
        for number in range(args.fresh_events):
            tier = "team" if number % 2 else "pro"
            body, headers = sign([_fresh_event(number, account_id, tier)])[0]
            answer = client.post("/webhooks/stripe", data=body, headers=headers)
            acknowledged = time.perf_counter()
            if answer.status_code != 200:
                raise RuntimeError(f"event {number} answered {answer.status_code}")
            while True:
                db.session.rollback()  # a fresh snapshot of what the applier committed
                if fresh_entitlements(account_id).tier_key == tier:
                    break
                time.sleep(0.001)
            latencies.append(time.perf_counter() - acknowledged)
        app.extensions[APPLIER_KEY].stop()
        db.session.remove()
        db.engine.dispose()
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{label} freshness: acknowledgement -> entitlements over {len(latencies)} events: "
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"
    )


def _fresh_event(number: int, account_id: int, tier: str) -> dict[str, Any]:
    at = START + 10_000_000 + number
    subscription = _subscription(0, account_id, 1, at)
    subscription["id"] = "sub_fresh"
    subscription["status"] = "active"
    subscription["items"]["data"][0]["price"]["lookup_key"] = tier
    return {
        "id": f"evt_fresh_{number}",
        "object": "event",
        "type": "customer.subscription.updated",
        "created": at,
        "data": {"object": subscription},
    }


if __name__ == "__main__":
    sys.exit(main())

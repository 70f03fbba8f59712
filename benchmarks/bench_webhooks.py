"""What the webhook inbox costs. Run: `uv run python -m benchmarks.bench_webhooks`.

For SQLite and PostgreSQL (a fresh database; skipped with a message when the server is not
reachable): migrate, seed a catalog and accounts, pre-sign a stream of Stripe subscription
events (several states per subscription, in provider order), then ingest them one by one as
the endpoint does: verify the signature on the raw body, store and commit the event, apply it
in a savepoint and commit the outcome. The baseline verifies the same bodies and does a bare
INSERT of the same row plus a commit. Prints events/s for both and the ratio inbox/baseline
(target >= 0.5), the median of several alternating rounds, each on an emptied inbox.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
from tiergate.billing.webhooks.services import process_event, record_event
from tiergate.billing.webhooks.views import commit_keeping
from tiergate.catalog import services as catalog
from tiergate.db import db, utcnow
from tiergate.migrate import upgrade_database

POSTGRES_URL = os.environ.get(
    "TIERGATE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WEBHOOK_SECRET = "whsec_benchmark_only"
START = 1_767_268_800  # 2026-01-01 12:00 UTC
STATUSES = ("trialing", "active", "past_due", "active", "canceled")

Delivery = tuple[bytes, dict[str, str]]


def make_bench_app(url: str) -> Any:
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "benchmark-only-secret",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SQLITE_BACKUP": False,
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
    """What POST /webhooks/stripe does, minus HTTP."""
    provider = get_provider("stripe")
    for body, headers in deliveries:
        event = provider.verify_webhook(body, headers)
        row, _created = record_event(event)
        commit_keeping(row)
        process_event(row, provider=provider)
        commit_keeping(row)
        if row.status != "processed":
            raise RuntimeError(f"event {event.id} was {row.status}: {row.last_error}")


def ingest_baseline(deliveries: list[Delivery]) -> None:
    """Verify, then a bare INSERT of the same row and a commit."""
    provider = get_provider("stripe")
    table = WebhookEvent.__table__
    for body, headers in deliveries:
        event = provider.verify_webhook(body, headers)
        db.session.execute(
            table.insert().values(
                provider=event.provider,
                provider_event_id=event.id,
                type=event.type,
                received_at=utcnow(),
                provider_created_at=event.created,
                payload=event.payload,
                status="received",
                attempts=0,
            )
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


def measure(url: str, args: argparse.Namespace) -> tuple[float, float, float]:
    """Return median inbox and baseline events/s and the median per-round ratio."""
    app = make_bench_app(url)
    with app.app_context():
        upgrade_database("head")
        deliveries = sign(payloads(seed(args.accounts), args.states))
        timed(ingest_inbox, deliveries[: args.warmup])
        timed(ingest_baseline, deliveries[: args.warmup])
        inbox, baseline, ratios = [], [], []
        for _ in range(args.rounds):
            baseline.append(timed(ingest_baseline, deliveries))
            inbox.append(timed(ingest_inbox, deliveries))
            ratios.append(inbox[-1] / baseline[-1])
        db.session.remove()
        db.engine.dispose()
    return statistics.median(inbox), statistics.median(baseline), statistics.median(ratios)


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str | None]:
    """Yield a fresh database URL for ``backend`` (None when its server is unreachable)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench-webhooks.sqlite3'}"
        return
    server = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"tg_bench_{uuid.uuid4().hex[:10]}"
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        print(f"postgresql: skipped, server not reachable at {POSTGRES_URL}: {error.orig}")
        yield None
        return
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--accounts", type=int, default=40, help="one subscription each")
    parser.add_argument("--states", type=int, default=5, help="events per subscription")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=50)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    events = args.accounts * args.states
    print(f"{events} signed Stripe events ({args.accounts} subscriptions x {args.states} states)")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            with database(backend, Path(tmp)) as url:
                if url is None:
                    continue
                inbox, baseline, ratio = measure(url, args)
                ok = ok and ratio >= 0.5
                print(
                    f"{backend}: inbox {inbox:.0f} events/s, verify+INSERT+commit "
                    f"{baseline:.0f} events/s, ratio {ratio:.3f} (target >= 0.5)"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

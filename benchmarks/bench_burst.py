"""A renewal-wave burst with a crash. Run: `uv run python -m benchmarks.bench_burst`.

On a fresh PostgreSQL database: 10,000 distinct signed Stripe events (20 states of each of
500 subscriptions) are posted by 32 concurrent clients, in a shuffled order, to
`tiergate serve --workers 4` (which only acknowledges: TIERGATE_WEBHOOK_APPLY=worker), while
two `tiergate worker` processes apply them; one worker is killed with SIGKILL halfway
through the deliveries. Then it waits for the inbox to drain and checks: every acknowledged
event applied exactly once (0 lost, 0 applied twice) and every subscription in the state
in-order delivery gives. Prints the acknowledgement rate and latency, the drain time, and
the checks; exits 1 when one fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tiergate.audit.models import AuditEvent
from tiergate.billing.models import Subscription
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db
from tiergate.migrate import upgrade_database

from .bench_webhooks import START, WEBHOOK_SECRET, make_bench_app, seed, sign
from .support import database

STATUSES = ("active", "past_due", "active", "trialing", "active")


def events(account_ids: list[int], states: int) -> list[dict[str, Any]]:
    """Return ``states`` events of each account's subscription, each a distinct later state."""
    found = []
    for number, account_id in enumerate(account_ids):
        for step in range(states):
            at = START + step * 3600 + number
            found.append(
                {
                    "id": f"evt_{number}_{step}",
                    "object": "event",
                    "type": "customer.subscription.updated",
                    "created": at,
                    "data": {"object": subscription(number, account_id, step, at)},
                }
            )
    return found


def subscription(number: int, account_id: int, step: int, at: int) -> dict[str, Any]:
    return {
        "id": f"sub_{number}",
        "object": "subscription",
        "status": STATUSES[step % len(STATUSES)],
        "customer": f"cus_{number}",
        "cancel_at_period_end": step % 2 == 1,
        "trial_end": None,
        "metadata": {"tiergate_account_id": str(account_id)},
        "items": {
            "data": [
                {
                    "current_period_end": at + 30 * 86400,
                    "price": {"lookup_key": "team" if step % 3 else "pro"},
                }
            ]
        },
    }


def expected_states(payloads: list[dict[str, Any]]) -> dict[str, tuple[str, str, bool]]:
    """Return each subscription's (tier, status, cancel_at_period_end) after in-order delivery."""
    last: dict[str, dict[str, Any]] = {}
    for payload in sorted(payloads, key=lambda item: item["created"]):
        obj = payload["data"]["object"]
        last[obj["id"]] = obj
    return {
        sub_id: (
            obj["items"]["data"][0]["price"]["lookup_key"],
            obj["status"],
            obj["cancel_at_period_end"],
        )
        for sub_id, obj in last.items()
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tiergate(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("tiergate")), *args]


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as output:
        started = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield started
    finally:
        if started.poll() is None:
            os.killpg(started.pid, signal.SIGTERM)
            try:
                started.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(started.pid, signal.SIGKILL)
                started.wait()


def wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


class Deliveries:
    """Post the signed bodies from ``clients`` threads; keep what each answer said."""

    def __init__(self, url: str, bodies: list[tuple[bytes, dict[str, str]]], clients: int):
        self.endpoint, self.bodies, self.clients = url + "/webhooks/stripe", bodies, clients
        self.acknowledged: list[str] = []
        self.refused: list[tuple[str, int]] = []
        self.latencies: list[float] = []
        self.done = 0
        self._lock = threading.Lock()

    def run(self) -> float:
        """Deliver everything; return the seconds it took."""
        shares = [self.bodies[number :: self.clients] for number in range(self.clients)]
        threads = [threading.Thread(target=self._client, args=(share,)) for share in shares]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    def _client(self, share: list[tuple[bytes, dict[str, str]]]) -> None:
        with httpx.Client(timeout=120) as client:
            for body, headers in share:
                event_id = json.loads(body)["id"]
                sent = time.perf_counter()
                try:
                    answer = client.post(self.endpoint, content=body, headers=headers)
                    code = answer.status_code
                except httpx.HTTPError:
                    code = 0  # not acknowledged: the provider would deliver it again
                with self._lock:
                    self.latencies.append(time.perf_counter() - sent)
                    self.done += 1
                    if code == 200:
                        self.acknowledged.append(event_id)
                    else:
                        self.refused.append((event_id, code))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=500)
    parser.add_argument("--states", type=int, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--server-workers", type=int, default=4)
    parser.add_argument("--drain-timeout", type=float, default=1800)
    return parser.parse_args(argv)


def prepare(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    app = make_bench_app(url)
    with app.app_context():
        upgrade_database("head")
        payloads = events(seed(args.subscriptions), args.states)
        db.session.remove()
        db.engine.dispose()
    random.Random(12).shuffle(payloads)
    return payloads


def burst(url: str, args: argparse.Namespace, workdir: Path) -> bool:
    payloads = prepare(url, args)
    bodies = sign(payloads)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIERGATE_")}
    env.update(
        TIERGATE_DATABASE_URL=url,
        TIERGATE_SECRET_KEY="benchmark-only-secret-0123456789abcdef",
        TIERGATE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TIERGATE_WEBHOOK_APPLY="worker",
        TIERGATE_WEBHOOK_POLL_SECONDS="0.2",
    )
    port = free_port()
    serve = tiergate("serve", "--workers", str(args.server_workers), "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    with (
        process(serve, env, workdir / "server.log") as server,
        process(tiergate("worker"), env, workdir / "worker-1.log") as first,
        process(tiergate("worker"), env, workdir / "worker-2.log"),
    ):
        wait_healthy(base, server, workdir / "server.log")
        deliveries = Deliveries(base, bodies, args.clients)
        killer = threading.Thread(target=kill_halfway, args=(deliveries, first, len(bodies)))
        killer.start()
        elapsed = deliveries.run()
        killer.join()
        drained = wait_drained(url, args.drain_timeout)
    return report(url, payloads, deliveries, elapsed, drained)


def kill_halfway(deliveries: Deliveries, worker: subprocess.Popen, total: int) -> None:
    deadline = time.monotonic() + 3600
    while deliveries.done < total // 2:
        if time.monotonic() > deadline:
            raise RuntimeError("the deliveries stalled before half were done")
        time.sleep(0.01)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    print(f"worker 1 killed with SIGKILL after {deliveries.done} deliveries")


def wait_drained(url: str, timeout: float) -> float:
    """Wait until no event waits; return the seconds from now."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as connection:
                waiting = connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(WebhookEvent)
                    .where(WebhookEvent.status == "received")
                )
            if not waiting:
                return time.perf_counter() - started
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise RuntimeError(f"the inbox did not drain within {timeout:.0f} s")


def report(
    url: str,
    payloads: list[dict[str, Any]],
    deliveries: Deliveries,
    elapsed: float,
    drained: float,
) -> bool:
    app = make_bench_app(url)
    with app.app_context():
        stored = {
            row.provider_event_id: (row.status, row.attempts)
            for row in db.session.execute(
                sa.select(
                    WebhookEvent.provider_event_id, WebhookEvent.status, WebhookEvent.attempts
                )
            )
        }
        audited = db.session.execute(
            sa.select(AuditEvent.actor_id, sa.func.count())
            .where(AuditEvent.target_type == "subscription")
            .group_by(AuditEvent.actor_id)
        ).all()
        final = {
            row.provider_subscription_id: (row.tier.key, row.status, row.cancel_at_period_end)
            for row in db.session.scalars(sa.select(Subscription))
        }
        db.session.remove()
        db.engine.dispose()
    acknowledged = deliveries.acknowledged
    lost = [event for event in acknowledged if stored.get(event, ("", 0))[0] != "processed"]
    twice = [event for event in acknowledged if stored.get(event, ("", 0))[1] > 1]
    twice += [actor for actor, count in audited if count > 1]
    expected = expected_states(payloads)
    wrong = [sub for sub, state in expected.items() if final.get(sub) != state]
    cuts = statistics.quantiles(deliveries.latencies, n=100)
    print(
        f"{len(payloads)} events from {deliveries.clients} clients in {elapsed:.1f} s: "
        f"{len(acknowledged)} acknowledged ({len(acknowledged) / elapsed:.0f}/s), "
        f"{len(deliveries.refused)} not; answer p50 {cuts[49] * 1000:.0f} ms, "
        f"p99 {cuts[98] * 1000:.0f} ms"
    )
    print(f"backlog drained {drained:.1f} s after the last answer")
    print(
        f"lost: {len(lost)}, applied twice: {len(twice)}, subscriptions not in the in-order "
        f"state: {len(wrong)} of {len(expected)}"
    )
    return not lost and not twice and not wrong and not deliveries.refused


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("load average at start: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp), "burst") as url:
        if url is None:
            return 1
        ok = burst(url, args, Path(tmp))
    print("load average at end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""What limits cost. Run: `uv run python -m benchmarks.bench_limits`.

Prints ratios, not timings to assert on:

1. a warm ``tiergate.limits.check(account, "projects")`` against a plain dict lookup
   (target <= 20x), in a fresh process;
2. ``track()`` throughput with 8 concurrent worker processes on PostgreSQL: one hot account
   (a hard limit on one row; a soft limit over the shards) and 10,000 accounts, each against a
   bare ``UPDATE ... SET n = n + 1`` on one row and on 10,000 rows (one transaction per use);
3. an endpoint that writes a row, gated with ``@require_permission(..., consume=1)`` against
   the same endpoint ungated, under gunicorn (target >= 0.9).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, jsonify
from flask.typing import ResponseReturnValue

from tiergate import create_app
from tiergate.accounts.apikeys import create_api_key
from tiergate.accounts.models import Account
from tiergate.accounts.principal import current_principal
from tiergate.accounts.services import create_account
from tiergate.audit.services import Actor
from tiergate.billing.services import grant_exempt_tier
from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db, request_transaction
from tiergate.entitlements.decorators import current_account_id, require_permission
from tiergate.limits import check, track
from tiergate.migrate import upgrade_database

from .bench_entitlements import free_port, wait_until_up
from .support import database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-only-secret"
ACTOR = Actor.system("benchmark")
MANY = 10_000
#: permission -> (kind, enforcement); every tier limit is high enough never to refuse.
PERMISSIONS = {"projects": ("allocation", "hard"), "calls.hard": ("metered", "hard"),
               "calls.soft": ("metered", "soft")}  # fmt: skip


def _app(url: str) -> Flask:
    config = {"TIERGATE_DATABASE_URL": url, "SECRET_KEY": SECRET, "TIERGATE_SQLITE_BACKUP": False}
    return create_app(config)


def seed(url: str, accounts: int) -> tuple[list[int], str]:
    """Migrate, create a catalog with limits and ``accounts`` accounts; return ids and a key."""
    app = _app(url)
    with app.app_context():
        upgrade_database("head")
        begin_write_transaction()
        catalog.create_tier("pro", "Pro", rank=10, user_limit=5)
        for key, (kind, enforcement) in PERMISSIONS.items():
            catalog.create_permission(key, key, kind=kind, enforcement=enforcement)
            catalog.grant_permission("pro", key)
            catalog.set_tier_limit("pro", key, 2_000_000_000)
        catalog.set_default_tier("pro")
        first = create_account("Bench", slug="bench", owner=None, actor=ACTOR)
        grant_exempt_tier(first, "pro", actor=ACTOR, reason="benchmark")
        _, token = create_api_key("benchmark", account=first, actor=ACTOR)
        db.session.commit()
        db.session.execute(
            sa.insert(Account), [{"name": f"A{i}", "slug": f"a{i}"} for i in range(1, accounts)]
        )
        db.session.commit()
        ids = list(db.session.scalars(sa.select(Account.id).order_by(Account.id)))
        db.engine.dispose()
    return ids, token


# --- 1. warm check --------------------------------------------------------------------------


def _micro(url: str, account_id: int, number: int) -> tuple[float, float]:
    app = _app(url)
    with app.app_context():
        assert check(account_id, "projects").allowed  # warm the cache
        table = {"projects": True}
        checked = min(timeit.repeat(lambda: check(account_id, "projects"), number=number, repeat=5))
        looked_up = min(timeit.repeat(lambda: table["projects"], number=number, repeat=5))
        db.engine.dispose()
    return checked / number * 1e9, looked_up / number * 1e9


def micro_benchmark(url: str, account_id: int, number: int) -> tuple[float, float]:
    """Return ns per warm check() and per dict lookup, in a fresh process (one app, as a worker)."""
    command = [sys.executable, "-m", "benchmarks.bench_limits", "--micro-only"]
    command += [url, str(account_id), str(number)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    checked, looked_up = output.split()[-2:]
    return float(checked), float(looked_up)


# --- 2. track throughput --------------------------------------------------------------------


def _worker(url: str, case: str, ids: list[int], seconds: float, start: float) -> float:
    """Run one case's operation for ``seconds`` from ``start`` (or from when ready, if later);
    return operations per second."""
    app = _app(url)
    done = 0
    with app.app_context():
        operation = _operation(case, ids)
        operation()  # warm: connection, cache, counter rows
        while time.time() < start:
            time.sleep(0.001)
        began = time.time()
        while time.time() < began + seconds:
            operation()
            done += 1
        elapsed = time.time() - began
        db.engine.dispose()
    return done / elapsed


def _operation(case: str, ids: list[int]) -> Callable[[], None]:
    hot = ids[0]

    def tracked(permission: str, many: bool) -> Callable[[], None]:
        def run() -> None:
            with request_transaction():
                track(random.choice(ids) if many else hot, permission, 1)

        return run

    def bare(many: bool) -> Callable[[], None]:
        statement = sa.text("UPDATE bench_counter SET n = n + 1 WHERE id = :id")

        def run() -> None:
            with request_transaction():
                db.session.execute(statement, {"id": random.randrange(MANY) if many else 0})

        return run

    return {
        "bare UPDATE, one row": bare(False),
        "bare UPDATE, 10,000 rows": bare(True),
        "track hard, one hot account": tracked("calls.hard", False),
        "track soft, one hot account": tracked("calls.soft", False),
        "track hard, 10,000 accounts": tracked("calls.hard", True),
    }[case]


CASES = (
    "bare UPDATE, one row",
    "track hard, one hot account",
    "track soft, one hot account",
    "bare UPDATE, 10,000 rows",
    "track hard, 10,000 accounts",
)


def throughput(url: str, ids: list[int], workers: int, seconds: float) -> dict[str, float]:
    """Return operations per second of each case, ``workers`` processes at once."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE bench_counter (id integer primary key, n bigint)")
        connection.exec_driver_sql(
            f"INSERT INTO bench_counter SELECT g, 0 FROM generate_series(0, {MANY - 1}) g"
        )
    engine.dispose()
    rates = {}
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        for case in CASES:
            start = time.time() + 8.0  # every worker has built its app and warmed up
            args = [(url, case, ids, seconds, start)] * workers
            rates[case] = sum(pool.starmap(_worker, args))
    return rates


# --- 3. gated endpoint ------------------------------------------------------------------------

bench = Blueprint("bench_limits", __name__)


def _write_and_answer() -> ResponseReturnValue:
    """The endpoint's own work: authenticate, write one row, commit."""
    if current_principal().is_anonymous:
        abort(401)
    account_id = current_account_id()
    with request_transaction():
        db.session.execute(
            sa.update(Account).where(Account.id == account_id).values(name=Account.name)
        )
    return jsonify(account=account_id, ok=True)


@bench.post("/bench/ungated")
def ungated() -> ResponseReturnValue:
    """The endpoint, ungated."""
    return _write_and_answer()


@bench.post("/bench/consuming")
@require_permission("calls.soft", consume=1)
def consuming() -> ResponseReturnValue:
    """The same endpoint, taking one use of a metered permission."""
    return _write_and_answer()


def create_bench_app() -> Flask:
    """Create the tiergate app (configured from TIERGATE_*) with the two endpoints."""
    app = create_app()
    app.register_blueprint(bench)
    return app


def endpoint_ratio(url: str, token: str, args: argparse.Namespace) -> tuple[float, float]:
    """Return requests per second of (ungated, consuming), loaded alternately (ABBA)."""
    import http.client
    import os
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    env = {**os.environ, "TIERGATE_DATABASE_URL": url, "TIERGATE_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--worker-class", "gthread", "--threads", "2", "--log-level", "warning"]
    command += ["benchmarks.bench_limits:create_bench_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    paths = ("/bench/ungated", "/bench/consuming")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def client(pairs: int) -> dict[str, float]:
        spent = dict.fromkeys(paths, 0.0)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for index in range(pairs):
            for path in paths if index % 2 == 0 else paths[::-1]:
                started = time.perf_counter()
                connection.request("POST", path, headers=headers)
                response = connection.getresponse()
                response.read()
                spent[path] += time.perf_counter() - started
                if response.status != 200:
                    raise SystemExit(f"{path} answered {response.status}")
        connection.close()
        return spent

    try:
        wait_until_up(port, server)
        rounds = []
        for _ in range(args.rounds):
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(client, [args.requests // args.clients] * args.clients))
            rounds.append({path: 1 / sum(r[path] for r in results) for path in paths})
        ungated_rate = statistics.median(r[paths[0]] for r in rounds) * args.requests
        consuming_rate = statistics.median(r[paths[1]] for r in rounds) * args.requests
        return ungated_rate, consuming_rate
    finally:
        server.terminate()
        server.wait(timeout=30)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8, help="track() worker processes")
    parser.add_argument("--seconds", type=float, default=3.0, help="per track() case")
    parser.add_argument("--requests", type=int, default=400, help="request pairs per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--micro-number", type=int, default=200_000)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--micro-only"]:
        checked, looked_up = _micro(argv[1], int(argv[2]), int(argv[3]))
        print(f"{checked} {looked_up}")
        return 0
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp)) as url:
        if url is None:
            return 1
        ids, token = seed(url, MANY)
        check_ns, dict_ns = micro_benchmark(url, ids[0], args.micro_number)
        print(f"warm check(): {check_ns:.0f} ns, dict lookup: {dict_ns:.0f} ns, "
              f"ratio {check_ns / dict_ns:.1f}x (target <= 20x)")  # fmt: skip
        rates = throughput(url, ids, args.workers, args.seconds)
        one, many = rates[CASES[0]], rates[CASES[3]]
        print(f"track() with {args.workers} worker processes on PostgreSQL, one commit per use:")
        for case, rate in rates.items():
            base = many if "10,000" in case else one
            print(f"  {case:<30} {rate:8.0f}/s  ratio to bare UPDATE {rate / base:.2f}")
        ungated_rate, consuming_rate = endpoint_ratio(url, token, args)
        ratio = consuming_rate / ungated_rate
        print(f"endpoint: ungated {ungated_rate:.0f} req/s, consume=1 {consuming_rate:.0f} "
              f"req/s, ratio {ratio:.3f} (target >= 0.9)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

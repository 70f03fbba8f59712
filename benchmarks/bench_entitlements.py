"""What `@require_permission` costs. Run: `uv run python -m benchmarks.bench_entitlements`.

For SQLite and PostgreSQL (a fresh database; skipped with a message when the server is not
reachable): migrate, seed one account with an API key, start gunicorn on a free loopback
port, and load two otherwise identical endpoints (``benchmarks/bench_app.py``), one behind
``@require_permission``, with a bounded number of keep-alive requests from client threads
that alternate between the two.
Prints the throughput ratio guarded/plain (target >= 0.95), then a micro-benchmark of a warm
``check()`` against a plain dict lookup (target <= 20x).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tiergate import create_app
from tiergate.accounts.apikeys import create_api_key
from tiergate.accounts.services import create_account
from tiergate.audit.services import Actor
from tiergate.billing.services import grant_exempt_tier
from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db
from tiergate.entitlements.services import check
from tiergate.migrate import upgrade_database

from .bench_app import PERMISSION
from .support import database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-only-secret"
ACTOR = Actor.system("benchmark")


def seed(url: str) -> tuple[int, str]:
    """Migrate the database and create a pro account with an API key; return (id, key)."""
    app = create_app(
        {"TIERGATE_DATABASE_URL": url, "SECRET_KEY": SECRET, "TIERGATE_SQLITE_BACKUP": False}
    )
    with app.app_context():
        upgrade_database("head")
        begin_write_transaction()
        catalog.create_permission(PERMISSION, "Export reports")
        catalog.create_tier("free", "Free", rank=0)
        catalog.create_tier("pro", "Pro", rank=10, user_limit=5)
        catalog.grant_permission("pro", PERMISSION)
        catalog.set_default_tier("free")
        account = create_account("Bench", slug="bench", owner=None, actor=ACTOR)
        grant_exempt_tier(account, "pro", actor=ACTOR, reason="benchmark")
        _, token = create_api_key("benchmark", account=account, actor=ACTOR)
        db.session.commit()
        account_id = account.id
        db.engine.dispose()
    return account_id, token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(url: str, workers: int, threads: int) -> Iterator[int]:
    """Run the benchmark app under gunicorn on a free loopback port; yield the port."""
    port = free_port()
    env = {**os.environ, "TIERGATE_DATABASE_URL": url, "TIERGATE_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)]
    command += ["--log-level", "warning", "benchmarks.bench_app:create_bench_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_until_up(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on port {port} within {timeout:.0f} s")


PATHS = ("/bench/plain", "/bench/guarded")


def _client(port: int, headers: dict[str, str], pairs: int) -> dict[str, float]:
    """Send ``pairs`` plain+guarded pairs over one keep-alive connection; return time per path.

    The two endpoints alternate request by request (ABBA), so a busy neighbour or a drift in
    machine speed slows both alike: the ratio stays meaningful on a shared machine.
    """
    spent = dict.fromkeys(PATHS, 0.0)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for index in range(pairs):
            for path in PATHS if index % 2 == 0 else PATHS[::-1]:
                started = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                spent[path] += time.perf_counter() - started
                if response.status != 200:
                    raise SystemExit(f"{path} answered {response.status}")
    finally:
        connection.close()
    return spent


def load_round(port: int, token: str, pairs: int, clients: int) -> dict[str, float]:
    """Return requests per second of each endpoint, both loaded at once by ``clients``."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    share = pairs // clients
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: _client(port, headers, share), range(clients)))
    # Under a closed loop, an endpoint's throughput is the clients over its mean latency.
    return {path: share * clients / (sum(r[path] for r in results) / clients) for path in PATHS}


def load(port: int, token: str, args: argparse.Namespace) -> tuple[float, float, float]:
    """Run the rounds; return (plain rps, guarded rps, median guarded/plain ratio)."""
    load_round(port, token, args.warmup, args.clients)
    rounds = [load_round(port, token, args.requests, args.clients) for _ in range(args.rounds)]
    plain = statistics.mean(r[PATHS[0]] for r in rounds)
    guarded = statistics.mean(r[PATHS[1]] for r in rounds)
    ratio = statistics.median(r[PATHS[1]] / r[PATHS[0]] for r in rounds)
    return plain, guarded, ratio


def micro_benchmark(url: str, account_id: int, number: int) -> tuple[float, float]:
    """Return nanoseconds per warm ``check()`` and per plain dict lookup, in a fresh process.

    A fresh process holds one application, as a server's worker does (this one has built
    others to seed the databases).
    """
    command = [sys.executable, "-m", "benchmarks.bench_entitlements", "--micro-only"]
    command += [url, str(account_id), str(number)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    checked, looked_up = output.split()[-2:]
    return float(checked), float(looked_up)


def _micro_in_this_process(url: str, account_id: int, number: int) -> tuple[float, float]:
    app = create_app({"TIERGATE_DATABASE_URL": url, "SECRET_KEY": SECRET})
    with app.app_context():
        assert check(account_id, PERMISSION).allowed  # warm the cache
        grants = {PERMISSION: True}
        checked = min(timeit.repeat(lambda: check(account_id, PERMISSION), number=number, repeat=5))
        looked_up = min(timeit.repeat(lambda: grants[PERMISSION], number=number, repeat=5))
        db.engine.dispose()
    return checked / number * 1e9, looked_up / number * 1e9


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--requests", type=int, default=2000, help="request pairs (one to each endpoint) per round"
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4, help="client threads (keep-alive)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--micro-number", type=int, default=200_000)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--micro-only"]:
        url, account_id, number = argv[1:4]
        checked, looked_up = _micro_in_this_process(url, int(account_id), int(number))
        print(f"{checked} {looked_up}")
        return 0
    args = parse_args(argv)
    print(
        f"requests: {args.rounds} rounds x {args.requests} to each endpoint, {args.clients} "
        f"clients; gunicorn {args.workers} workers x {args.threads} threads (gthread)"
    )
    ok = True
    micro: tuple[float, float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            with database(backend, Path(tmp)) as url:
                if url is None:
                    continue
                account_id, token = seed(url)
                with gunicorn(url, args.workers, args.threads) as port:
                    plain, guarded, ratio = load(port, token, args)
                ok = ok and ratio >= 0.95
                print(
                    f"{backend}: plain {plain:.0f} req/s, guarded {guarded:.0f} req/s, "
                    f"ratio {ratio:.3f} (target >= 0.95)"
                )
                if micro is None:  # in-process, on the first backend's database
                    micro = micro_benchmark(url, account_id, args.micro_number)
    if micro is not None:
        check_ns, dict_ns = micro
        ok = ok and check_ns / dict_ns <= 20
        print(
            f"warm check(): {check_ns:.0f} ns, dict lookup: {dict_ns:.0f} ns, "
            f"ratio {check_ns / dict_ns:.1f}x (target <= 20x)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The console at size. Run: `uv run python -m benchmarks.bench_scale [--accounts N ...]`.

Builds two PostgreSQL databases with ``benchmarks/scale_data.py``, or reuses one whose marker
row says it is complete at the asked sizes: ``tiergate_scale_<accounts>`` at size (default
1,000,000 accounts, 3,000,000 memberships, 10,000,000 webhook events and 10,000,000 audit rows)
and ``tiergate_scale_1000`` (1,000 accounts, the same per-account proportions and the same
5,000-member account). Then, in this process through the Flask test client, as a staff user or
as the big account's owner, times every page of ``scale_data.PAGES`` (the console's lists and
searches, next pages reached through their ``rel="next"`` link, an account's detail, the big
account's members page, pricing) and ``entitlements_for`` of the big account, cold (cache
cleared) and warm. Prints each median of ``--runs`` warm runs at 1,000 accounts and at size,
side by side, with their ratio: near 1 means the page does not slow down as the tables grow.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate import create_app
from tiergate.db import db
from tiergate.entitlements.services import entitlements_for, get_cache

from .scale_data import ScaleSet, find_marker, generate, migrate, prepare
from .scale_pages import PAGES, log_in, next_link, search_facts
from .support import POSTGRES_URL

SMALL_ACCOUNTS = 1000
CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "benchmark-only-secret",
    "TIERGATE_SQLITE_BACKUP": False,
    "TIERGATE_MAIL_SEND_AFTER_COMMIT": False,
    "TIERGATE_MAIL_BILLING_NOTICES": False,
    # Applied in the request that stores it: no background thread applies the generated
    # unfinished events while the pages are timed.
    "TIERGATE_WEBHOOK_APPLY": "inline",
}


def sizes(args: argparse.Namespace, accounts: int) -> dict[str, int]:
    """The data set of ``accounts`` accounts, in the proportions asked for the large one."""
    per_account = accounts / args.accounts
    return {
        "accounts": accounts,
        "members": args.big_members + round((args.members - args.big_members) * per_account),
        "events": round(args.events * per_account),
        "audit": round(args.audit * per_account),
        "big_account_members": args.big_members,
    }


def database(wanted: dict[str, int], batch: int) -> tuple[str, ScaleSet]:
    """Return the URL and contents of ``tiergate_scale_<accounts>``, built unless complete."""
    name = f"tiergate_scale_{wanted['accounts']}"
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    server = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with server.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    made = find_marker(engine) if exists else None
    if made is not None and all(getattr(made, key) == value for key, value in wanted.items()):
        print(f"{name}: reused (complete at these sizes); migrating to head")
        started = time.perf_counter()
        migrate(url)
        print(f"{name}: at head in {time.perf_counter() - started:.0f} s")
        engine.dispose()
        return url, made
    print(f"{name}: generating {wanted}")
    with server.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()
    started = time.perf_counter()
    prepare(url)
    made = generate(engine, **wanted, batch=batch)
    rows = wanted["accounts"] + 2 * wanted["members"] + wanted["events"] + wanted["audit"]
    spent = time.perf_counter() - started
    print(
        f"{name}: {rows:,} rows (users, accounts, memberships, events, audit) in {spent:.0f} s, "
        f"migrations and indexes included ({rows / spent:,.0f} rows/s overall)"
    )
    engine.dispose()
    return url, made


@dataclass
class Site:
    """An app on one data set, logged-in clients, and the URL of each page to time."""

    app: Flask
    made: ScaleSet
    clients: dict[str, FlaskClient]
    urls: dict[str, str | None]


def open_site(url: str, made: ScaleSet) -> Site:
    app = create_app({**CONFIG, "TIERGATE_DATABASE_URL": url})
    clients = {"staff": app.test_client(), "owner": app.test_client()}
    with app.app_context():
        log_in(clients["staff"], made.staff_email)
        log_in(clients["owner"], made.big_owner_email)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    facts = search_facts(engine, made)
    engine.dispose()
    urls: dict[str, str | None] = {}
    for name, page in PAGES.items():
        first = page.url(made, facts)
        urls[name] = first
        if page.next_page:
            html = get(clients[page.who], first)
            urls[name] = next_link(html)  # None: the page has no next page
    return Site(app, made, clients, urls)


def get(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return response.get_data(as_text=True)


def median_ms(action: Callable[[], Any], runs: int, warmup: int) -> float:
    """Return the median wall time of ``runs`` calls of ``action`` after ``warmup`` calls."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def entitlements_timer(site: Site, cold: bool) -> Callable[[], Any]:
    def compute() -> Any:
        with site.app.app_context():
            if cold:
                get_cache().invalidate(catalog=True)
            result = entitlements_for(site.made.big_account_id)
            db.session.remove()
            return result

    return compute


def measure(site: Site, args: argparse.Namespace) -> dict[str, float | None]:
    """Return name -> median milliseconds (None: no such page at this size)."""
    timings: dict[str, float | None] = {}
    for name, page in PAGES.items():
        url = site.urls[name]
        client = site.clients[page.who]
        timings[name] = (
            None
            if url is None
            else median_ms(lambda c=client, u=url: get(c, u), args.runs, args.warmup)
        )
    for label, cold in (("entitlements_for cold", True), ("entitlements_for warm", False)):
        timer = entitlements_timer(site, cold)
        timings[label] = median_ms(timer, args.runs, args.warmup)
    return timings


def shown(ms: float) -> str:
    return f"{ms:>10.1f} ms" if ms >= 1 else f"{ms * 1000:>10.1f} µs"


def report(small: dict[str, float | None], large: dict[str, float | None], accounts: int) -> None:
    print(f"\n{'page':<24}{'1,000 accounts':>16}{f'{accounts:,} accounts':>20}{'ratio':>8}")
    for name, base in small.items():
        at_size = large[name]
        if base is None or at_size is None:
            print(f"{name:<24}{'(no such page)':>16}")
            continue
        print(f"{name:<24}{shown(base):>16}{shown(at_size):>20}{at_size / base:>8.1f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument(
        "--members", type=int, default=None, help="memberships and users (default: 3 an account)"
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="webhook events")
    parser.add_argument("--audit", type=int, default=10_000_000, help="audit rows")
    parser.add_argument("--big-members", type=int, default=5000, help="the big account's members")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per page (median)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=250_000, help="rows per INSERT ... SELECT")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.members = args.members or 3 * args.accounts
    if args.accounts <= SMALL_ACCOUNTS:
        raise SystemExit(f"--accounts must be more than the {SMALL_ACCOUNTS:,} compared against")
    try:
        built = [database(sizes(args, n), args.batch) for n in (SMALL_ACCOUNTS, args.accounts)]
    except sa.exc.OperationalError as error:
        print(f"postgresql: skipped, server not reachable at {POSTGRES_URL}: {error.orig}")
        return 0
    print(f"median of {args.runs} warm runs each (after {args.warmup}), Flask test client")
    small, large = (measure(open_site(url, made), args) for url, made in built)
    report(small, large, args.accounts)
    return 0


if __name__ == "__main__":
    sys.exit(main())

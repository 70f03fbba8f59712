"""A tiergate database at size, generated on the PostgreSQL server itself.

``prepare(url)`` migrates an empty database to head (the app's own ``upgrade_database``),
loads the demo catalog and creates a staff user; ``generate(engine, accounts=..., members=...,
events=..., audit=...)`` then fills it with ``INSERT ... SELECT ... FROM generate_series``
batches (server-side: nothing but the batch bounds travels, memory stays flat), rebuilds the
secondary indexes once at the end instead of row by row, and runs ``VACUUM ANALYZE``, so the
planner sees the statistics (and visibility map) of a database at rest. Shapes:

- users with unique e-mails, one per membership (the standalone app's ``tiergate_user``);
- accounts with unique slugs and varied names; the first is the big account, with
  ``big_account_members`` members; the others share the rest (~3 each), one owner each;
- a Stripe (pro or team), Whop (community) or exempt (staff) subscription on about half of the
  accounts, with provider ids; a few accounts billed twice (Stripe and Whop at once);
- webhook events of both providers, realistic types, mostly applied, a few failed or pending;
- audit rows of the actions the code records, with user, provider and system actors.

The last row written is an audit event ``scale.generated`` whose ``after`` holds the sizes
and the ids a benchmark needs (``find_marker``): a database without it is incomplete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tiergate import create_app
from tiergate.audit.listeners import acting_as
from tiergate.audit.services import Actor
from tiergate.billing.lifecycle.billed_twice import refresh_billed_twice
from tiergate.billing.lifecycle.live import double_billed_accounts
from tiergate.catalog.cli import read_catalog
from tiergate.catalog.loader import load_catalog
from tiergate.catalog.schemas import parse_yaml
from tiergate.db import db
from tiergate.migrate import upgrade_database
from tiergate.standalone.users import create_user

STAFF_EMAIL = "staff@scale.tiergate.example"
MARKER_ACTION = "scale.generated"
BIG_TABLES = (
    "tiergate_user",
    "tiergate_account",
    "tiergate_membership",
    "tiergate_subscription",
    "tiergate_webhook_event",
    "tiergate_audit_event",
)
#: The only Stripe event type the generator makes rare (one in 10,007): a short filtered list.
RARE_EVENT_TYPE = "customer.subscription.paused"

FIRST = "Maria Jan Aiko Omar Lena Ravi Chloe Mateo Ingrid Kwame Sofia Yusuf Hana Pavel Zoe Diego"
LAST = "Garcia Novak Tanaka Haddad Berg Iyer Martin Rossi Larsen Mensah Costa Demir Kim Horak Li"
DOMAINS = "northwind initech globex umbrella hooli stark wayne acme vandelay soylent cyberdyne"
ADJECTIVES = "Blue Quantum Silver North Rapid Bright Green Iron Lunar Coral Prime Swift Amber Nova"
NOUNS = "Labs Systems Analytics Works Foods Logistics Studio Health Robotics Media Bank Energy"
STRIPE_TYPES = (
    "customer.subscription.updated customer.subscription.updated customer.subscription.updated "
    "invoice.paid invoice.paid invoice.paid customer.subscription.created "
    "checkout.session.completed invoice.payment_failed customer.subscription.deleted "
    "charge.succeeded invoice.upcoming"
)
WHOP_TYPES = (
    "membership.activated membership.updated payment.succeeded payment.succeeded "
    "membership.deactivated payment.failed membership.cancel_at_period_end_changed"
)
#: audit row n % 20 -> (action, target type, actor type)
AUDIT_KINDS = [
    *[("subscription.updated", "subscription", "provider")] * 6,
    *[("subscription.created", "subscription", "provider")] * 2,
    *[("membership.created", "membership", "user")] * 2,
    ("account.created", "account", "user"),
    ("invitation.created", "invitation", "user"),
    ("invitation.accepted", "invitation", "user"),
    ("membership.updated", "membership", "user"),
    ("api_key.created", "api_key", "user"),
    ("user.created", "user", "system"),
    ("membership.deleted", "membership", "user"),
    ("subscription.granted", "subscription", "user"),
    ("user.password_changed", "user", "user"),
    ("account.updated", "account", "user"),
]


def _pick(words: str | list[str], expression: str) -> str:
    """SQL choosing one of ``words`` by the integer ``expression``."""
    items = words.split() if isinstance(words, str) else words
    quoted = ", ".join("'" + item.replace("'", "''") + "'" for item in items)
    return f"(ARRAY[{quoted}])[1 + (({expression}) % {len(items)})::int]"


def _email(j: str) -> str:
    """SQL of the e-mail of generated user number ``j`` (unique: the number is in it)."""
    return (
        f"lower({_pick(FIRST, j)} || '.' || {_pick(LAST, f'{j} / 16')}) || '.' || {j}"
        f" || '@' || {_pick(DOMAINS, f'{j} * 7')} || '.example'"
    )


def _hash(n: str) -> str:
    """SQL spreading the integer ``n`` over 0..999 (Knuth's multiplicative hash)."""
    return f"(({n}) * 2654435761 % 1000)"


USERS = f"""
INSERT INTO tiergate_user (id, email, password_hash, display_name, is_staff, is_active,
    email_verified_at, created_at, updated_at)
SELECT :user_base + j, {_email("j")}, NULL,
    {_pick(FIRST, "j")} || ' ' || {_pick(LAST, "j / 16")}, false, j % 97 <> 0,
    CASE WHEN j % 10 <> 0 THEN :now - make_interval(days => (j % 700)::int) END,
    :now - make_interval(days => (j % 700)::int), :now - make_interval(days => (j % 700)::int)
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS j"""

ACCOUNTS = f"""
INSERT INTO tiergate_account (id, name, slug, entitlements_version, created_at, updated_at)
SELECT :account_base + n,
    CASE WHEN n = 1 THEN 'Initech Holdings'
         ELSE {_pick(ADJECTIVES, "n")} || ' ' || {_pick(NOUNS, "n / 14")}
              || CASE WHEN n % 3 = 0 THEN ' ' || {_pick(LAST, "n / 7")} ELSE '' END END,
    CASE WHEN n = 1 THEN 'initech'
         ELSE lower({_pick(ADJECTIVES, "n")} || '-' || {_pick(NOUNS, "n / 14")}) || '-' || n END,
    0, :now - make_interval(days => (n % 900)::int), :now - make_interval(days => (n % 90)::int)
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS n"""

# Membership j: the first ``big`` belong to the big account (j = 1 its owner); the others go
# round the remaining accounts, so each account's first membership (round 0) is its owner.
MEMBERSHIPS = """
INSERT INTO tiergate_membership (id, account_id, user_id, role, created_at, updated_at)
SELECT :membership_base + j,
    :account_base + CASE WHEN j <= :big THEN 1 ELSE 2 + (j - :big - 1) % (:accounts - 1) END,
    :user_base + j,
    CASE WHEN j = 1 THEN 'owner'
         WHEN j <= :big THEN CASE WHEN j % 50 = 0 THEN 'admin' ELSE 'member' END
         WHEN (j - :big - 1) / (:accounts - 1) = 0 THEN 'owner'
         WHEN j % 4 = 0 THEN 'admin' ELSE 'member' END,
    :now - make_interval(days => (j % 700)::int), :now - make_interval(days => (j % 700)::int)
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS j"""

# Account n's subscription: the hash h picks stripe (h < 400), whop (< 500), exempt (< 510)
# or none; the big account pays for team on Stripe. ``:second`` adds a live Whop subscription
# to the accounts with h < 2, which are then billed twice.
SUBSCRIPTIONS = f"""
INSERT INTO tiergate_subscription (account_id, tier_id, provider, provider_subscription_id,
    provider_customer_id, status, current_period_end, cancel_at_period_end, current_period_start,
    paid_through, billing_interval, quantity, provider_updated_at, granted_by_id, grant_reason,
    created_at, updated_at)
SELECT :account_base + n,
    CASE WHEN kind = 'stripe' THEN CASE WHEN n = 1 OR h % 5 = 0 THEN :team ELSE :pro END
         WHEN kind = 'whop' THEN :community ELSE :staff END,
    kind,
    CASE kind WHEN 'stripe' THEN 'sub_' || substr(md5('s' || n), 1, 14) || to_hex(n)
              WHEN 'whop' THEN 'mem_' || substr(md5('w' || n), 1, 12) || to_hex(n)
              ELSE 'exempt:account:' || (:account_base + n) END,
    CASE kind WHEN 'stripe' THEN 'cus_' || substr(md5('c' || n), 1, 10) || to_hex(n)
              WHEN 'whop' THEN 'user_' || substr(md5('u' || n), 1, 10) || to_hex(n) END,
    CASE WHEN kind = 'exempt' OR :second THEN 'active'
         ELSE (ARRAY['active', 'active', 'active', 'active', 'active', 'active', 'active',
                     'past_due', 'canceled', 'trialing'])[1 + (n % 10)::int] END,
    :now + make_interval(days => (n % 30)::int), h % 50 = 3,
    :now - make_interval(days => 30 - (n % 30)::int), :now + make_interval(days => (n % 30)::int),
    CASE WHEN kind = 'exempt' THEN NULL WHEN h % 4 = 0 THEN 'year' ELSE 'month' END,
    1, :now - make_interval(days => (n % 30)::int),
    CASE WHEN kind = 'exempt' THEN :staff_id END,
    CASE WHEN kind = 'exempt' THEN 'Partner programme' END,
    :now - make_interval(days => (n % 900)::int), :now - make_interval(days => (n % 30)::int)
FROM (
    SELECT n, {_hash("n")} AS h,
        CASE WHEN :second THEN 'whop' WHEN n = 1 OR {_hash("n")} < 400 THEN 'stripe'
             WHEN {_hash("n")} < 500 THEN 'whop' ELSE 'exempt' END AS kind
    FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS n
) AS chosen
WHERE (n = 1 AND NOT :second) OR h < CASE WHEN :second THEN 2 ELSE 510 END"""

WEBHOOK_EVENTS = f"""
INSERT INTO tiergate_webhook_event (provider, provider_event_id, type, received_at,
    provider_created_at, payload, status, attempts, last_error, processed_at)
SELECT provider, event_id, type, received_at, received_at - interval '2 seconds',
    json_build_object('id', event_id, 'type', type, 'created',
        extract(epoch FROM received_at)::bigint, 'data', json_build_object('object',
            json_build_object('id', 'sub_' || substr(md5('s' || n), 1, 14) || to_hex(n),
                'customer', 'cus_' || substr(md5('c' || n), 1, 10) || to_hex(n),
                'status', 'active'))),
    status, CASE status WHEN 'received' THEN 0 WHEN 'failed' THEN 1 + (e % 5)::int ELSE 1 END,
    CASE WHEN status = 'failed' THEN 'No such subscription: ' || substr(md5('s' || n), 1, 14) END,
    CASE WHEN status <> 'received' THEN received_at + interval '200 milliseconds' END
FROM (
    SELECT e, 2 + e % (:accounts - 1) AS n,
        CASE WHEN e % 4 = 0 THEN 'whop' ELSE 'stripe' END AS provider,
        CASE WHEN e % 4 = 0 THEN 'msg_' ELSE 'evt_' END || substr(md5('e' || e), 1, 16)
            || to_hex(e) AS event_id,
        CASE WHEN e % 10007 = 0 THEN '{RARE_EVENT_TYPE}'
             WHEN e % 4 = 0 THEN {_pick(WHOP_TYPES, "e / 4")}
             ELSE {_pick(STRIPE_TYPES, "e / 4")} END AS type,
        CASE WHEN {_hash("e")} < 10 THEN 'failed' WHEN {_hash("e")} < 15 THEN 'received'
             WHEN {_hash("e")} < 40 OR e % 4 <> 0 AND (e / 4) % 12 >= 10 THEN 'ignored'
             ELSE 'processed' END AS status,
        :start + make_interval(secs => e::float8 / :total * :span) AS received_at
    FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS e
) AS event"""

AUDIT_EVENTS = f"""
INSERT INTO tiergate_audit_event (created_at, actor_type, actor_id, actor_label, action,
    target_type, target_id, before, after)
SELECT :start + make_interval(secs => a::float8 / :total * :span), actor_type,
    CASE actor_type WHEN 'user' THEN (:user_base + u)::text
                    WHEN 'provider' THEN 'evt_' || substr(md5('e' || a), 1, 16) END,
    CASE actor_type WHEN 'user' THEN {_email("u")}
                    WHEN 'provider' THEN CASE WHEN a % 3 = 0 THEN 'whop' ELSE 'stripe' END
                    ELSE {_pick("signup billing-sync cli reconcile", "a / 20")} END,
    action, target_type,
    (CASE target_type WHEN 'account' THEN :account_base + 2 + a % (:accounts - 1)
                      WHEN 'user' THEN :user_base + u
                      WHEN 'membership' THEN :membership_base + 1 + a % :members
                      ELSE 1 + a % (:accounts / 2 + 1) END)::text,
    CASE WHEN action LIKE '%.updated' THEN json_build_object('status', 'trialing') END,
    json_build_object('status', 'active', 'role', 'member')
FROM (
    SELECT a, 1 + a % :members AS u,
        {_pick([kind[0] for kind in AUDIT_KINDS], "a")} AS action,
        {_pick([kind[1] for kind in AUDIT_KINDS], "a")} AS target_type,
        {_pick([kind[2] for kind in AUDIT_KINDS], "a")} AS actor_type
    FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS a
) AS row"""


@dataclass(frozen=True)
class ScaleSet:
    """What was generated, and the ids a benchmark or a test reads pages with."""

    accounts: int
    members: int
    events: int
    audit: int
    big_account_members: int
    big_account_id: int
    big_owner_email: str
    small_account_id: int
    small_owner_email: str
    staff_email: str


def _app(url: str) -> Flask:
    """An app that writes the set and nothing else: no thread sends mail or applies events."""
    return create_app(
        {
            "TIERGATE_DATABASE_URL": url,
            "SECRET_KEY": "scale-data",
            "TESTING": True,
            "TIERGATE_SQLITE_BACKUP": False,
            "TIERGATE_WEBHOOK_APPLY": "inline",
            "TIERGATE_MAIL_SEND_AFTER_COMMIT": False,
            "TIERGATE_MAIL_BILLING_NOTICES": False,
        }
    )


def migrate(url: str) -> None:
    """Bring a generated database to the latest migrations (new indexes are built at size)."""
    app = _app(url)
    with app.app_context():
        upgrade_database("heads")
        db.engine.dispose()


def prepare(url: str) -> None:
    """Migrate the empty database at ``url`` to head, load the demo catalog, add a staff user."""
    app = _app(url)
    with app.app_context():
        upgrade_database("heads")
        source, text = read_catalog(None)
        with acting_as(Actor.system("scale_data")):
            load_catalog(parse_yaml(text, source), source=source)
        create_user(STAFF_EMAIL, is_staff=True, actor=Actor.system("scale_data"))
        db.session.commit()
        db.engine.dispose()


def generate(
    bind: sa.Engine | sa.Connection,
    *,
    accounts: int,
    members: int,
    events: int,
    audit: int,
    big_account_members: int = 5000,
    batch: int = 250_000,
    echo: Any = print,
) -> ScaleSet:
    """Fill a prepared PostgreSQL database; print rows/s per table; return what was made.

    ``bind`` may be an engine or a connection (its engine is used: each batch commits).
    """
    if accounts < 2 or members < big_account_members + accounts - 1 or big_account_members < 1:
        raise ValueError("need 2+ accounts, 1+ big-account members and a member per account")
    engine = bind if isinstance(bind, sa.Engine) else bind.engine
    with engine.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = off")
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        params = _base_params(conn, accounts, members, big_account_members)
        started = time.perf_counter()
        with _indexes_built_after(conn, echo):
            _fill(conn, echo, "users", USERS, members, batch, params)
            _fill(conn, echo, "accounts", ACCOUNTS, accounts, batch, params)
            _fill(conn, echo, "memberships", MEMBERSHIPS, members, batch, params)
            for second in (False, True):
                extra = {**params, "second": second}
                _fill(conn, echo, "subscriptions", SUBSCRIPTIONS, accounts, batch, extra)
            # The flag tiergate keeps as subscriptions change, set once for the bulk rows.
            refresh_billed_twice(conn, double_billed_accounts())
            dated = {**params, "start": params["now"] - timedelta(days=365), "span": 365 * 86400}
            by_event = {**dated, "total": events}
            _fill(conn, echo, "webhook events", WEBHOOK_EVENTS, events, batch, by_event)
            _fill(conn, echo, "audit events", AUDIT_EVENTS, audit, batch, {**dated, "total": audit})
            _restart_sequences(conn)
            conn.commit()
    _vacuum_analyze(engine, echo)
    made = ScaleSet(
        accounts, members, events, audit, big_account_members,
        big_account_id=params["account_base"] + 1,
        big_owner_email=_scalar(engine, f"SELECT {_email('1')}"),
        small_account_id=params["account_base"] + 2,
        small_owner_email=_scalar(engine, f"SELECT {_email(str(big_account_members + 1))}"),
        staff_email=STAFF_EMAIL,
    )  # fmt: skip
    _write_marker(engine, made)
    echo(f"generated in {time.perf_counter() - started:.1f} s")
    return made


def find_marker(engine: sa.Engine) -> ScaleSet | None:
    """Return what a completed ``generate`` made in this database, or None."""
    query = sa.text(
        "SELECT after FROM tiergate_audit_event WHERE action = :action ORDER BY id DESC LIMIT 1"
    )
    try:
        with engine.connect() as conn:
            after = conn.execute(query, {"action": MARKER_ACTION}).scalar()
    except sa.exc.ProgrammingError:  # no schema yet
        return None
    return ScaleSet(**after) if after else None


def _write_marker(engine: sa.Engine, made: ScaleSet) -> None:
    insert = sa.text(
        "INSERT INTO tiergate_audit_event (created_at, actor_type, actor_label, action, "
        "target_type, after) VALUES (now(), 'system', 'scale_data', :action, 'database', "
        "CAST(:after AS json))"
    )
    with engine.begin() as conn:
        conn.execute(insert, {"action": MARKER_ACTION, "after": json.dumps(asdict(made))})


def _scalar(engine: sa.Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def _base_params(conn: sa.Connection, accounts: int, members: int, big: int) -> dict[str, Any]:
    """Ids continue after the rows already there (the catalog's, the staff user)."""

    def top(table: str) -> int:
        return int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar())

    tiers = dict(conn.exec_driver_sql("SELECT key, id FROM subscription_tier").all())
    staff_id = conn.execute(
        sa.text("SELECT id FROM tiergate_user WHERE email = :email"), {"email": STAFF_EMAIL}
    ).scalar()
    return {
        "user_base": top("tiergate_user"),
        "account_base": top("tiergate_account"),
        "membership_base": top("tiergate_membership"),
        "accounts": accounts,
        "members": members,
        "big": big,
        "now": conn.exec_driver_sql("SELECT now()").scalar(),
        "staff_id": staff_id,
        **{key: tiers[key] for key in ("pro", "team", "community", "staff")},
    }


def _fill(
    conn: sa.Connection,
    echo: Any,
    label: str,
    sql: str,
    total: int,
    batch: int,
    params: dict[str, Any],
) -> None:
    """Run ``sql`` over row numbers 1..total, one committed batch at a time."""
    statement = sa.text(sql)
    started = time.perf_counter()
    rows = 0
    for low in range(1, total + 1, batch):
        result = conn.execute(statement, {**params, "lo": low, "hi": min(low + batch - 1, total)})
        rows += result.rowcount
        conn.commit()
    spent = time.perf_counter() - started
    echo(f"  {label}: {rows:,} rows in {spent:.1f} s ({rows / max(spent, 1e-9):,.0f} rows/s)")


@contextmanager
def _indexes_built_after(conn: sa.Connection, echo: Any) -> Iterator[None]:
    """Drop the big tables' secondary indexes and unique constraints; create them again after.

    One sort per index at the end is several times faster than maintaining each row by row
    (a trigram GIN index most of all). The definitions are read from the catalog, so indexes
    a later migration adds are rebuilt exactly as it made them.
    """
    tables = list(BIG_TABLES)
    constraints = conn.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(:t)"
        ),
        {"t": tables},
    ).all()
    indexes = conn.execute(
        sa.text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(:t) AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        ),
        {"t": tables},
    ).all()
    for table, name, _ in constraints:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    conn.commit()
    yield
    started = time.perf_counter()
    for table, name, definition in constraints:
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        conn.exec_driver_sql(definition)
    conn.commit()
    built = len(constraints) + len(indexes)
    echo(f"  {built} indexes built in {time.perf_counter() - started:.1f} s")


def _restart_sequences(conn: sa.Connection) -> None:
    """Make each table's id sequence continue after the ids given explicitly."""
    for table in BIG_TABLES:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )


def _vacuum_analyze(engine: sa.Engine, echo: Any) -> None:
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in BIG_TABLES:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    echo(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")

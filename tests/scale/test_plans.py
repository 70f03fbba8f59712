"""The console's lists and searches, the members page and pricing at size, on PostgreSQL.

A throwaway database gets a generated set (``benchmarks/scale_data.py``: 20,000 accounts,
60,000 memberships and users, 200,000 webhook events and audit rows, one account with 5,000
members) and its planner statistics. Each page is requested through the test client, as a
staff user (the console) or as the big account's owner (members, pricing); every SELECT it
sends is explained with the same parameters, and a plan fails when it reads a whole big table:
a ``Seq Scan``, or an index scan without an index condition that is not cut short by a
``LIMIT`` (or that filters rows while walking the index, so a rare match reads it all).

At this size a table is a few hundred pages, and a sequential scan can be the cheapest plan
even where an index serves the query (a semi-join of a few hundred ids, say); at a million rows
the same query takes the index. So a statement whose plan reads a whole table is planned again
with sequential scans disabled: it fails only if no plan avoids it, that is, when no index
serves the query (bench_scale measures the real plans at a million accounts).
Next pages are reached by following the page's ``<a rel="next">`` link, whatever it holds.
A page also runs as many queries for a list of one row as for a full page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from benchmarks.scale_data import (
    BIG_TABLES,
    MARKER_ACTION,
    RARE_EVENT_TYPE,
    ScaleSet,
    generate,
    prepare,
)
from benchmarks.scale_pages import PAGES, Page, next_link, query_url, search_facts
from flask import Flask
from flask.testing import FlaskClient

from tiergate.db import db

from ..backends import fresh_database
from ..browsing import log_in
from ..conftest import http_client, in_app_context, make_app

pytestmark = pytest.mark.postgres

SIZES = {
    "accounts": 20_000,
    "members": 60_000,
    "events": 200_000,
    "audit": 200_000,
    "big_account_members": 5_000,
}


@dataclass
class Scale:
    """The app on the generated database, its clients and values to search for."""

    app: Flask
    made: ScaleSet
    staff: FlaskClient
    owner: FlaskClient
    small_owner: FlaskClient
    facts: dict[str, Any]
    #: The planner's row count of each big table.
    table_rows: dict[str, float]


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scale]:
    with fresh_database("postgresql", tmp_path_factory.mktemp("scale")) as url:
        prepare(url)
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        made = generate(engine, **SIZES, echo=lambda line: None)
        app = make_app(url)
        with in_app_context(app):
            clients = [http_client(app) for _ in range(3)]
            emails = (made.staff_email, made.big_owner_email, made.small_owner_email)
            for client, email in zip(clients, emails, strict=True):
                log_in(client, email)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names)"),
                {"names": list(BIG_TABLES)},
            )
            table_rows = {name: float(count) for name, count in rows}
        yield Scale(app, made, *clients, facts=search_facts(engine, made), table_rows=table_rows)
        engine.dispose()
        with app.app_context():
            db.engine.dispose()


@dataclass
class Sent:
    statement: str
    parameters: Any


@contextmanager
def sent_statements(app: Flask) -> Iterator[list[Sent]]:
    """Collect every statement the app sends to the database inside the block."""
    with app.app_context():
        engine = db.engine
    sent: list[Sent] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append(Sent(statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def client_for(scale: Scale, who: str) -> FlaskClient:
    return {"staff": scale.staff, "owner": scale.owner, "small_owner": scale.small_owner}[who]


def get(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def resolve(scale: Scale, page: Page) -> str:
    """Return the URL to measure: the page's own, or the one its rel=next link points to."""
    url = page.url(scale.made, scale.facts)
    if not page.next_page:
        return url
    target = next_link(get(client_for(scale, page.who), url))
    if target is None and page.who == "owner":
        pytest.skip(f"{url} shows every row on one page: it has no next page")
    assert target is not None, f"{url} has no <a rel='next'> link, though it lists more rows"
    return target


def explain(app: Flask, sent: Sent, *, seqscan: bool = True) -> dict[str, Any]:
    """Return PostgreSQL's plan of a statement, with the parameters it was sent with."""
    with app.app_context():
        connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if not seqscan:  # for this transaction only: the pool rolls it back on close
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sent.statement, sent.parameters)
        document = cursor.fetchone()[0]
    finally:
        connection.close()
    plan = json.loads(document) if isinstance(document, str) else document
    return plan[0]["Plan"]


#: Plan nodes that consume all their input before they return a row.
BLOCKING = frozenset({"Sort", "Incremental Sort", "Hash", "Aggregate", "Materialize", "SetOp"})


def full_scans(
    node: dict[str, Any], sizes: dict[str, float], limit: float | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the plan nodes that read a whole big table, or most of it for one page.

    An index walked without an index condition under a ``LIMIT`` reads only a page, unless
    it filters rows out: then it reads limit / selectivity rows, and the node is reported when
    the planner expects that to be a tenth of the table or more (at most ten pages of matches).
    A ``LIMIT`` above a sort, hash or aggregate bounds nothing below it. Without a ``LIMIT``,
    a scan expected to return a tenth of its table or more (``sizes``: the
    tables' rows) reads most of it, whatever index condition it has.
    """
    if node["Node Type"] == "Limit":
        limit = node["Plan Rows"]
    elif node["Node Type"] in BLOCKING:
        limit = None  # it reads all its input before the LIMIT above takes a row
    table = node.get("Relation Name")
    if table in BIG_TABLES:
        kind = node["Node Type"]
        walks_index = kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        sparse = "Filter" in node and node["Plan Rows"] <= 10 * (limit or 0)
        most = limit is None and node["Plan Rows"] >= sizes[table] / 10
        if kind == "Seq Scan" or most or (walks_index and (limit is None or sparse)):
            yield node
    for child in node.get("Plans", []):
        yield from full_scans(child, sizes, limit)


def describe(node: dict[str, Any]) -> str:
    keys = ("Node Type", "Relation Name", "Index Name", "Filter", "Plan Rows", "Total Cost")
    return ", ".join(f"{key}: {shorten(node[key])}" for key in keys if key in node)


def shorten(value: Any, most: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= most else text[: most - 1] + "…"


@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_reads_a_whole_big_table(scale: Scale, name: str) -> None:
    page = PAGES[name]
    url = resolve(scale, page)
    with sent_statements(scale.app) as sent:
        get(client_for(scale, page.who), url)
    selects = [s for s in sent if s.statement.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert selects, url
    problems = []
    sizes = scale.table_rows
    for statement in selects:
        if not any(full_scans(explain(scale.app, statement), sizes)):
            continue
        for node in full_scans(explain(scale.app, statement, seqscan=False), sizes):
            problems.append(
                f"  {describe(node)}\n    SQL: {shorten(statement.statement, 600)}"
                f"\n    parameters: {shorten(repr(statement.parameters))}"
            )
    assert not problems, f"GET {url} reads a whole big table:\n" + "\n".join(problems)


#: page kind -> (a URL listing one or a few rows, the same page listing a full page), who asks
PAIRS: dict[str, tuple[Callable[[Scale], str], Callable[[Scale], str], str]] = {
    "accounts": (
        lambda s: query_url("/admin/accounts", q=s.facts["small_slug"]),
        lambda s: "/admin/accounts",
        "staff",
    ),
    "account-detail": (
        lambda s: f"/admin/accounts/{s.facts['paying_account_id']}",  # 3 members, 1 subscription
        lambda s: f"/admin/accounts/{s.made.big_account_id}",
        "staff",
    ),
    "events": (
        lambda s: query_url("/admin/events", type=RARE_EVENT_TYPE),
        lambda s: "/admin/events",
        "staff",
    ),
    "audit": (
        lambda s: query_url("/admin/audit", action=MARKER_ACTION),
        lambda s: "/admin/audit",
        "staff",
    ),
}


def statements_for(scale: Scale, client: FlaskClient, url: str) -> tuple[int, str]:
    with sent_statements(scale.app) as sent:
        page = get(client, url)
    return len(sent), page


@pytest.mark.parametrize("kind", [*PAIRS, "members"])
def test_a_page_runs_as_many_queries_for_one_row_as_for_many(scale: Scale, kind: str) -> None:
    if kind == "members":  # an account of 3 members against the one of 5,000
        few, few_page = statements_for(scale, scale.small_owner, "/account/members")
        many, many_page = statements_for(scale, scale.owner, "/account/members")
        assert few_page.count(".example") < many_page.count(".example")
    else:
        small, large, who = PAIRS[kind]
        few, few_page = statements_for(scale, client_for(scale, who), small(scale))
        many, many_page = statements_for(scale, client_for(scale, who), large(scale))
        assert len(few_page) < len(many_page)  # the larger page does list more rows
    assert few == many, f"{kind}: {few} queries for a short list, {many} for a long one"

"""The pages measured at size, shared by ``bench_scale`` and ``tests/scale/test_plans.py``.

Each is a console list or search, the big account's members page or pricing, with the URL it
has in a data set of ``scale_data``; a next page is reached through the first page's
``<a rel="next">`` link, never built from its parameters, so whatever paging the pages use is
what gets measured.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from tiergate.db import db
from tiergate.standalone.sessions import start_session
from tiergate.standalone.users import find_user

from .scale_data import ScaleSet


def search_facts(engine: sa.Engine, made: ScaleSet) -> dict[str, Any]:
    """Values of real rows to search for: a slug, provider ids, an audit target and actor."""
    with engine.connect() as conn:
        paying = conn.execute(
            sa.text(
                "SELECT a.id, a.slug, s.provider_subscription_id, s.provider_customer_id FROM "
                "tiergate_account a JOIN tiergate_subscription s ON s.account_id = a.id "
                "WHERE s.provider = 'stripe' ORDER BY a.id DESC LIMIT 1"
            )
        ).one()
        audit = conn.execute(
            sa.text(
                "SELECT target_id, actor_label FROM tiergate_audit_event "
                "WHERE target_type = 'subscription' AND actor_type = 'user' ORDER BY id LIMIT 1"
            )
        ).one()
        small_slug = conn.execute(
            sa.text("SELECT slug FROM tiergate_account WHERE id = :id"),
            {"id": made.small_account_id},
        ).scalar_one()
    return {
        "slug": paying.slug,
        "paying_account_id": paying.id,
        "small_slug": small_slug,
        "subscription_id": paying.provider_subscription_id,
        "customer_id": paying.provider_customer_id,
        "subscription_target": audit.target_id,
        "actor_email": audit.actor_label,
    }


def query_url(path: str, **args: Any) -> str:
    return f"{path}?{urlencode(args)}"


@dataclass(frozen=True)
class Page:
    """A page to measure: its URL in a data set, who asks, and whether to go one page on."""

    url: Callable[[ScaleSet, dict[str, Any]], str]
    who: str = "staff"  # or "owner": the big account's owner
    next_page: bool = False


def _accounts(**args: Any) -> Callable[[ScaleSet, dict[str, Any]], str]:
    return lambda made, facts: query_url(
        "/admin/accounts", **{k: facts.get(v, v) for k, v in args.items()}
    )


#: Every list and search the console offers, the big account's members page and pricing.
#: A ``next_page`` one is reached through the first page's ``<a rel="next">`` link.
PAGES: dict[str, Page] = {
    "accounts": Page(lambda made, facts: "/admin/accounts"),
    "accounts-next": Page(lambda made, facts: "/admin/accounts", next_page=True),
    "accounts-q-name": Page(_accounts(q="North Labs")),
    "accounts-q-slug": Page(_accounts(q="slug")),
    "accounts-q-email": Page(
        lambda made, facts: query_url("/admin/accounts", q=made.small_owner_email)
    ),
    "accounts-q-subscription": Page(_accounts(q="subscription_id")),
    "accounts-q-customer": Page(_accounts(q="customer_id")),
    "accounts-double-billed": Page(_accounts(billing="double")),
    "account-detail": Page(lambda made, facts: f"/admin/accounts/{made.big_account_id}"),
    "events": Page(lambda made, facts: "/admin/events"),
    "events-next": Page(lambda made, facts: "/admin/events", next_page=True),
    "events-provider": Page(lambda made, facts: query_url("/admin/events", provider="whop")),
    "events-status": Page(lambda made, facts: query_url("/admin/events", status="failed")),
    "events-type": Page(lambda made, facts: query_url("/admin/events", type="invoice.payment")),
    "audit": Page(lambda made, facts: "/admin/audit"),
    "audit-next": Page(lambda made, facts: "/admin/audit", next_page=True),
    "audit-actor": Page(lambda made, facts: query_url("/admin/audit", actor=facts["actor_email"])),
    "audit-target-type": Page(
        lambda made, facts: query_url("/admin/audit", target_type="subscription")
    ),
    "audit-target-id": Page(
        lambda made, facts: query_url(
            "/admin/audit", target_type="subscription", target_id=facts["subscription_target"]
        )
    ),
    "audit-action": Page(lambda made, facts: query_url("/admin/audit", action="subscription.")),
    "members": Page(lambda made, facts: "/account/members", who="owner"),
    "members-next": Page(lambda made, facts: "/account/members", who="owner", next_page=True),
    "pricing": Page(lambda made, facts: "/pricing", who="owner"),
}

_LINK = re.compile(r"<a\b[^>]*>")
_HREF = re.compile(r'\bhref="([^"]*)"')


def next_link(page: str) -> str | None:
    """Return the target of the page's ``<a rel="next">`` link, or None."""
    for tag in _LINK.findall(page):
        if re.search(r'\brel="next"', tag) and (href := _HREF.search(tag)):
            return html.unescape(href.group(1))
    return None


def log_in(client: Any, email: str) -> None:
    """Open a session row for the user, as a completed log-in does, and give the client it."""
    user = find_user(email)
    assert user is not None, email
    session_id = start_session(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True

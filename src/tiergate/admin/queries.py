"""Read-only queries behind the console's lists: a fixed number per page, never one per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..accounts import users
from ..accounts.models import Account, Invitation, Membership
from ..audit.models import AuditEvent
from ..billing.models import PROVIDERS, Subscription
from ..billing.webhooks.models import WebhookEvent
from ..db import db
from ..web.pagination import MAX_SEARCH, Keyset, contains, starts_with

#: How the console's growing lists are ordered and paged.
ACCOUNTS_BY_SLUG = Keyset.by(Account.slug)
EVENTS_NEWEST_FIRST = Keyset.by(WebhookEvent.id, descending=True, numbers=True)
AUDIT_NEWEST_FIRST = Keyset.by(AuditEvent.id, descending=True, numbers=True)


def account_search(text: str) -> sa.Select[Any]:
    """Accounts matching name, slug, a member's e-mail or a provider subscription/customer id.

    Unordered (paged by ``ACCOUNTS_BY_SLUG``). Each way of matching is its own indexed query
    and the accounts are those of their union, so no one of them makes the others scan.
    """
    query = sa.select(Account).options(
        selectinload(Account.subscriptions).selectinload(Subscription.tier)
    )
    text = text.strip()
    if len(text) > MAX_SEARCH:
        return query.where(sa.false())  # longer than any column
    if not text:
        return query
    matching = sa.union(
        sa.select(Account.id).where(contains(Account.name, text)),
        sa.select(Account.id).where(contains(Account.slug, text)),
        sa.select(Membership.account_id).where(
            Membership.user_id.in_(users.ids_with_email_like(text))
        ),
        # With the provider named, each lookup is one of the provider-first indexes.
        sa.select(Subscription.account_id).where(
            Subscription.provider.in_(PROVIDERS), Subscription.provider_subscription_id == text
        ),
        sa.select(Subscription.account_id).where(
            Subscription.provider.in_(PROVIDERS), Subscription.provider_customer_id == text
        ),
    )
    return query.where(Account.id.in_(matching))


def member_counts(account_ids: Sequence[int]) -> dict[int, int]:
    """Return account id -> members, for these accounts, in one aggregate query."""
    if not account_ids:
        return {}
    rows = db.session.execute(
        sa.select(Membership.account_id, sa.func.count())
        .where(Membership.account_id.in_(account_ids))
        .group_by(Membership.account_id)
    )
    return {account_id: count for account_id, count in rows}


def load_account(account_id: int) -> Account | None:
    """Return the account with its subscriptions loaded (its members are listed by page)."""
    account = db.session.scalar(
        sa.select(Account)
        .where(Account.id == account_id)
        .options(selectinload(Account.subscriptions).selectinload(Subscription.tier))
    )
    if account is not None:
        users.attach(list(account.subscriptions), "granted_by_id", "granted_by")
    return account


def account_audit_trail(account: Account, limit: int = 100) -> list[AuditEvent]:
    """Return the newest audit events about the account, its members, invitations, subscriptions."""

    def ids_of(model: Any) -> list[str]:
        # The ids as text, as the log keeps them (compared in the database, a cast's collation
        # differs from the column's on MariaDB).
        ids = db.session.scalars(sa.select(model.id).where(model.account_id == account.id))
        return [str(id_) for id_ in ids]

    targets = {
        "account": [str(account.id)],
        "membership": ids_of(Membership),
        "subscription": ids_of(Subscription),
        "invitation": ids_of(Invitation),
    }
    # One indexed query per kind of target, each its newest ``limit``: together they hold the
    # newest ``limit`` of all (one OR over the kinds would walk the whole log back instead).
    newest = [
        sa.select(AuditEvent.id)
        .where(AuditEvent.target_type == kind, AuditEvent.target_id.in_(ids))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .subquery()
        for kind, ids in targets.items()
        if ids
    ]
    union = sa.union_all(*(sa.select(branch.c.id) for branch in newest))
    found = sorted(db.session.scalars(union), reverse=True)[:limit]
    query = sa.select(AuditEvent).where(AuditEvent.id.in_(found)).order_by(AuditEvent.id.desc())
    return list(db.session.scalars(query))


def event_search(provider: str, status: str, event_type: str) -> sa.Select[Any]:
    """Webhook events by provider, status and type prefix (``EVENTS_NEWEST_FIRST``), no payload."""
    query = sa.select(WebhookEvent).options(sa.orm.defer(WebhookEvent.payload))
    if provider:
        query = query.where(WebhookEvent.provider == provider)
    if status:
        query = query.where(WebhookEvent.status == status)
    if event_type:
        # Types are lower-case and dotted: a prefix finds a family ("customer.subscription")
        # and is answered by an index, where a substring would read every event.
        query = query.where(starts_with(WebhookEvent.type, event_type.lower()))
    return query


def audit_search(actor: str, target_type: str, target_id: str, action: str) -> sa.Select[Any]:
    """Audit events by actor label prefix or id, target type/id, action prefix (newest first)."""
    query = sa.select(AuditEvent)
    if actor:
        # The start of the label (an e-mail, a name, "stripe"), lower-cased and indexed: a
        # substring of one would read most of a log of millions through any index.
        label = sa.func.lower(AuditEvent.actor_label)
        query = query.where(sa.or_(starts_with(label, actor.lower()), AuditEvent.actor_id == actor))
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if action:
        query = query.where(starts_with(AuditEvent.action, action))
    return query

"""Bump the entitlements version counters in the same transaction as the change.

One ``before_flush`` listener sees every new, changed or deleted subscription, membership,
invitation, tier or permission, whichever code made it, and increments
``account.entitlements_version`` of each account concerned, or the catalog's counter. After
the commit, this process's cache forgets those entries at once; other processes notice the
new counter on their next version read.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session, SessionTransaction

from ..accounts.models import Account, Invitation, Membership
from ..billing.models import Subscription
from ..catalog.models import Permission, SubscriptionTier
from ..db import session_listener
from ..signals import catalog_changed, entitlements_changed, subscription_changed
from .models import CATALOG_SCOPE, CacheVersion

CACHE_KEY = "tiergate.entitlements_cache"
_ACCOUNTS = "tiergate.touched_accounts"
_CATALOG = "tiergate.touched_catalog"
_SUBSCRIPTIONS = "tiergate.changed_subscriptions"
#: Accounts whose version this transaction has already bumped (so locked): not bumped again.
_BUMPED = "tiergate.bumped_accounts"
_ACCOUNT_SCOPED = (Subscription, Membership, Invitation)
_CATALOG_SCOPED = (SubscriptionTier, Permission)


def _account_id(obj: Any) -> int | None:
    if obj.account_id is not None:
        return int(obj.account_id)
    account = obj.account
    # A brand-new account has no id yet; nothing can have cached it.
    return account.id if account is not None else None


def _changes(session: Session) -> tuple[set[int], bool]:
    accounts: set[int] = set()
    catalog = False
    for obj in (*session.new, *session.deleted, *session.dirty):
        if isinstance(obj, _ACCOUNT_SCOPED):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            account_id = _account_id(obj)
            if account_id is not None:
                accounts.add(account_id)
        elif isinstance(obj, _CATALOG_SCOPED):
            catalog = catalog or obj not in session.dirty or session.is_modified(obj)
    return accounts, catalog


def lock_accounts(session: Session, account_ids: set[int]) -> None:
    """Lock the accounts' rows now, by bumping their entitlements versions; call it first.

    Every writer of an account's subscriptions, memberships or invitations takes the account
    row before any of those rows: one lock order, so concurrent writers for one account queue
    on it instead of deadlocking (MariaDB's gap locks on a new subscription's key otherwise
    cross with the account update). Called outside a savepoint, the bump counts for the whole
    transaction and the flush does not repeat it.
    """
    if not account_ids:
        return
    _bump_accounts(session.connection(), account_ids)
    session.info.setdefault(_ACCOUNTS, set()).update(account_ids)
    if not session.in_nested_transaction():
        session.info.setdefault(_BUMPED, set()).update(account_ids)


def _bump_accounts(connection: sa.Connection, account_ids: set[int]) -> None:
    connection.execute(
        sa.update(Account)
        .where(Account.id.in_(sorted(account_ids)))
        .values(entitlements_version=Account.entitlements_version + 1)
        .execution_options(synchronize_session=False)
    )


@session_listener("before_flush")
def _bump_versions(session: Session, flush_context: Any, instances: Any) -> None:
    accounts, catalog = _changes(session)
    accounts -= session.info.get(_BUMPED, set())
    if not accounts and not catalog:
        return
    connection = session.connection()
    if accounts:
        # Before the flush's own statements: the account row is locked first, the same order
        # as the seat lock, so concurrent writers queue instead of deadlocking.
        _bump_accounts(connection, accounts)
        session.info.setdefault(_ACCOUNTS, set()).update(accounts)
    if catalog:
        _bump_catalog(connection)
        session.info[_CATALOG] = True


def _bump_catalog(connection: sa.Connection) -> None:
    bumped = connection.execute(
        sa.update(CacheVersion)
        .where(CacheVersion.name == CATALOG_SCOPE)
        .values(version=CacheVersion.version + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 0:
        connection.execute(sa.insert(CacheVersion).values(name=CATALOG_SCOPE, version=1))


@session_listener("after_transaction_end")
def _forget_bumped(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_BUMPED, None)


@session_listener("after_flush")
def _note_subscriptions(session: Session, flush_context: Any) -> None:
    changed = session.info.setdefault(_SUBSCRIPTIONS, {})
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Subscription) and obj.id is not None:
            changed[obj.id] = obj.account_id


def _forget(session: Session) -> tuple[set[int], bool, dict[int, int]]:
    accounts = session.info.pop(_ACCOUNTS, set())
    catalog = session.info.pop(_CATALOG, False)
    subscriptions = session.info.pop(_SUBSCRIPTIONS, {})
    if (accounts or catalog) and has_app_context():
        cache = current_app.extensions.get(CACHE_KEY)
        if cache is not None:
            cache.invalidate(accounts, catalog=catalog)
    return accounts, catalog, subscriptions


@session_listener("after_commit")
def _forget_after_commit(session: Session) -> None:
    accounts, catalog, subscriptions = _forget(session)
    if has_app_context():
        _announce(accounts, catalog, subscriptions)


@session_listener("after_rollback")
def _forget_after_rollback(session: Session) -> None:
    # The rolled-back change may already have been read into the cache inside the transaction.
    _forget(session)


def _announce(accounts: set[int], catalog: bool, subscriptions: dict[int, int]) -> None:
    """Send the signals of a committed change (tiergate.signals)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for subscription_id, account_id in sorted(subscriptions.items()):
        subscription_changed.send(app, subscription_id=subscription_id, account_id=account_id)
    if accounts:
        entitlements_changed.send(app, account_ids=frozenset(accounts))
    if catalog:
        catalog_changed.send(app)

"""Signals for application code: sent once a change is committed, never for a rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from tiergate.accounts.models import Membership
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.signals import catalog_changed, entitlements_changed, subscription_changed

from .accounts.factories import make_account, make_catalog, make_user, subscribe


@contextmanager
def received(signal: Any, app: Flask) -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Flask, **extra: Any) -> None:
        assert sender is app
        calls.append(extra)

    with signal.connected_to(receiver, sender=app):
        yield calls


def test_a_subscription_change_is_announced_after_the_commit(app: Flask) -> None:
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    with (
        received(subscription_changed, app) as subscriptions,
        received(entitlements_changed, app) as entitlements,
    ):
        subscribe(account, "pro")
    assert [call["account_id"] for call in subscriptions] == [account.id]
    assert entitlements == [{"account_ids": frozenset({account.id})}]


def test_a_rolled_back_change_is_not_announced(app: Flask) -> None:
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    user = make_user("new@acme.test")
    db.session.commit()
    with received(entitlements_changed, app) as entitlements:
        db.session.add(Membership(account_id=account.id, user_id=user.id, role="member"))
        db.session.flush()
        db.session.rollback()
    assert entitlements == []
    with received(entitlements_changed, app) as entitlements:
        db.session.add(Membership(account_id=account.id, user_id=user.id, role="member"))
        db.session.commit()
    assert entitlements == [{"account_ids": frozenset({account.id})}]


def test_a_catalog_change_is_announced(app: Flask) -> None:
    make_catalog()
    with received(catalog_changed, app) as catalog:
        db.session.add(SubscriptionTier(name="Gold", key="gold"))
        db.session.commit()
    assert catalog == [{}]

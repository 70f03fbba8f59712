"""Entitlements use cases: what an account may do, from the per-process cache."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from ..accounts.models import Account
from ..db import utcnow
from .cache import EntitlementsCache
from .check import CheckResult, decide_seat
from .resolve import Entitlements, compute_entitlements, read_catalog
from .versions import CACHE_KEY


class _Caches:
    """The caches of the applications bound in this process.

    A process usually serves one application: then ``check()`` takes its cache directly, since
    the ``current_app`` proxy alone costs more than the whole warm lookup. With several
    applications (tests, a dispatcher), each check asks for the current one's.
    """

    only: EntitlementsCache | None = None
    count = 0


def register_cache(cache: EntitlementsCache) -> None:
    """Note an application's cache (``TierGate.init_app``)."""
    _Caches.count += 1
    _Caches.only = cache if _Caches.count == 1 else None


def cache_for_check() -> EntitlementsCache:
    """Return the current app's cache by the quickest way (the only app's, when one)."""
    return _Caches.only or get_cache()


def get_cache() -> EntitlementsCache:
    """Return the current app's entitlements cache."""
    cache: EntitlementsCache = current_app.extensions[CACHE_KEY]
    return cache


def _account_id(account: Account | int) -> int:
    return account if isinstance(account, int) else account.id


def entitlements_for(account: Account | int, now: datetime | None = None) -> Entitlements:
    """Return the account's effective tier, permissions, status and seats at ``now``."""
    return get_cache().entitlements(_account_id(account), now or utcnow())


def check(account: Account | int, permission: str, now: datetime | None = None) -> CheckResult:
    """Decide whether the account may use ``permission``; explain a denial."""
    account_id = account if type(account) is int else account.id  # type: ignore[union-attr]
    cache = _Caches.only or current_app.extensions[CACHE_KEY]
    return cache.check(account_id, permission, now)


def check_seat(account: Account | int, now: datetime | None = None) -> CheckResult:
    """Decide whether the account can take one more seat (a member or an invitation)."""
    cache = get_cache()
    entitlements = cache.entitlements(_account_id(account), now or utcnow())
    return decide_seat(entitlements, cache.catalog())


def fresh_entitlements(
    account: Account | int, now: datetime | None = None, *, locking: bool = False
) -> Entitlements:
    """Compute the account's entitlements from the database, bypassing the cache."""
    return compute_entitlements(
        _account_id(account),
        now or utcnow(),
        policy=get_cache().policy,
        catalog=read_catalog(),
        locking=locking,
    )

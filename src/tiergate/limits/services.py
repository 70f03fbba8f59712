"""Limits use cases: check, reserve, release, report a count, track; they flush, never commit.

reserve/release/track write inside the caller's transaction: the count commits or rolls
back with the work it pays for. Call them before the transaction's other writes on SQLite
(``begin_write_transaction``), as the seat services do.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from ..accounts.models import Account
from ..db import begin_write_transaction, db, has_written, utcnow
from ..entitlements.cache import EntitlementsCache
from ..entitlements.resolve import CatalogSnapshot, Entitlements, LimitedPermission
from ..entitlements.services import cache_for_check
from ..errors import ConfigurationError, ValidationError
from . import counters, estimates
from .decisions import THRESHOLDS, LimitCheck, decide_limit, refusal
from .outbox import note_threshold, record_meter_event
from .periods import Period, period_for

AccountRef = Account | int


def _account_id(account: AccountRef) -> int:
    return account if type(account) is int else account.id  # type: ignore[union-attr]


def _amount(amount: object, *, zero: bool = False) -> int:
    if type(amount) is not int or amount < (0 if zero else 1):
        least = "0" if zero else "1"
        raise ValidationError(f"amount must be a whole number of at least {least}, not {amount!r}")
    return amount


def _state(
    account_id: int, now: datetime
) -> tuple[EntitlementsCache, Entitlements, CatalogSnapshot]:
    cache = cache_for_check()
    entitlements = cache.entitlements(account_id, now)
    return cache, entitlements, cache.catalog()


def check(
    account: AccountRef, permission: str, amount: int = 1, now: datetime | None = None
) -> LimitCheck:
    """Decide whether ``amount`` more of ``permission`` fits the account's tier, with usage.

    The count read here may lag other processes' writes by the entitlements recheck time;
    ``reserve`` and ``track`` decide exactly.
    """
    account_id = _account_id(account)
    cache = cache_for_check()
    ts = now.timestamp() if now is not None else None
    memo = (permission, amount)
    cached = cache.cached_limit(account_id, memo, ts)
    if cached is not None:
        return cached
    now = now or utcnow()
    _amount(amount, zero=True)
    cache, entitlements, catalog = _state(account_id, now)
    info = catalog.limited.get(permission)
    period = period_for(info, entitlements, now) if info else Period("")
    used = counters.used(account_id, permission, period.key) if info else 0
    result = decide_limit(entitlements, catalog, permission, used, amount, period)
    until = period.end.timestamp() if period.end else None
    cache.remember_limit(account_id, memo, result, until)
    return result


def _limited(
    account_id: int, permission: str, kind: str, now: datetime
) -> tuple[Entitlements, CatalogSnapshot, LimitedPermission, Period]:
    if not has_written(db.session()):
        begin_write_transaction()  # SQLite: hold the write lock before reading the limit
    _, entitlements, catalog = _state(account_id, now)
    info = catalog.limited.get(permission)
    if info is None or info.kind != kind:
        found = info.kind if info else "feature" if permission in catalog.permission_keys else None
        what = f"a {found} permission" if found else "not a permission this catalog knows"
        raise ValidationError(f"{permission!r} is {what}; this needs a {kind} permission")
    return entitlements, catalog, info, period_for(info, entitlements, now)


def reserve(
    account: AccountRef, permission: str, amount: int = 1, *, now: datetime | None = None
) -> None:
    """Take ``amount`` units of an allocation (projects, ...) or raise LimitReached."""
    account_id, amount, now = _account_id(account), _amount(amount), now or utcnow()
    entitlements, catalog, _info, period = _limited(account_id, permission, "allocation", now)
    decision = decide_limit(entitlements, catalog, permission, 0, amount, period)
    if not decision.allowed and decision.reason != "limit_reached":
        raise refusal(decision)
    limit = decision.limit
    if limit is None:
        counters.add(account_id, permission, period.key, amount)
        _after_write(account_id, permission, None, 0, 0)
        return
    before = _add_within(entitlements, catalog, permission, amount, limit, period)
    _after_write(account_id, permission, limit, before, before + amount)


def _add_within(
    entitlements: Entitlements,
    catalog: CatalogSnapshot,
    permission: str,
    amount: int,
    limit: int,
    period: Period,
) -> int:
    """Add ``amount`` to a hard count within ``limit``; return the count before, or refuse."""
    account_id = entitlements.account_id
    after = counters.add_within(account_id, permission, period.key, amount, limit)
    if after is None:
        used = counters.locked_used(account_id, permission, period.key) or 0
        raise refusal(decide_limit(entitlements, catalog, permission, used, amount, period))
    return after - amount


def release(
    account: AccountRef, permission: str, amount: int = 1, *, now: datetime | None = None
) -> None:
    """Give back ``amount`` units of an allocation (a project was deleted)."""
    account_id, amount, now = _account_id(account), _amount(amount), now or utcnow()
    _, _, _, period = _limited(account_id, permission, "allocation", now)
    if not counters.subtract(account_id, permission, period.key, amount):
        used = counters.used(account_id, permission, period.key)
        raise ValidationError(
            f"cannot release {amount} of {permission!r}: only {used} reserved", used=used
        )
    _after_write(account_id, permission, None, 0, 0)


def report_count(
    account: AccountRef, permission: str, count: int, *, now: datetime | None = None
) -> None:
    """Record how many units of an allocation exist, as the application counted them."""
    account_id, count, now = _account_id(account), _amount(count, zero=True), now or utcnow()
    _, _, _, period = _limited(account_id, permission, "allocation", now)
    counters.set_used(account_id, permission, period.key, count)
    _after_write(account_id, permission, None, 0, 0)


def track(
    account: AccountRef, permission: str, amount: int = 1, *, now: datetime | None = None
) -> None:
    """Count ``amount`` uses of a metered permission in the current period, or refuse them.

    Hard: exact, refused beyond the limit. Soft: sharded counters, refused once the count
    read before adding is over the limit (it may overshoot by the uses in flight). Billed
    (a meter): never refused; the use is also written to the meter outbox.
    """
    account_id, amount, now = _account_id(account), _amount(amount), now or utcnow()
    entitlements, catalog, info, period = _limited(account_id, permission, "metered", now)
    decision = decide_limit(entitlements, catalog, permission, 0, amount, period)
    if not decision.allowed and decision.reason != "limit_reached":
        raise refusal(decision)
    limit = decision.limit
    if info.is_hard and limit is not None and decision.billed:
        used = _add_billed(account_id, permission, amount, limit, period)
    elif info.is_hard and limit is not None:
        used = _add_within(entitlements, catalog, permission, amount, limit, period)
    elif limit is None:  # unlimited: nothing to decide, no threshold to signal
        used = 0
        counters.add(account_id, permission, period.key, amount, 1 if info.is_hard else _shards())
    else:
        used = _add_soft(entitlements, catalog, permission, amount, limit, period)
    if info.is_billed:
        record_meter_event(entitlements, info, amount, now)
    _after_write(account_id, permission, limit, used, used + amount)


def _add_billed(account_id: int, permission: str, amount: int, limit: int, period: Period) -> int:
    """Add ``amount`` to a hard count whose overage is billed: never refused; return before.

    Within the limit the count stays exact; beyond it the use is billed, not refused.
    """
    after = counters.add_within(account_id, permission, period.key, amount, limit)
    if after is not None:
        return after - amount
    counters.add(account_id, permission, period.key, amount)
    return limit  # already at or over the limit: its thresholds were passed before


def _add_soft(
    entitlements: Entitlements,
    catalog: CatalogSnapshot,
    permission: str,
    amount: int,
    limit: int,
    period: Period,
) -> int:
    """Add ``amount`` to a soft count unless it is already over; return the count before.

    The count is this process's estimate (estimates.py) unless it is stale, near a threshold
    or refuses: a refusal and a threshold signal are always decided on the sum just read.
    """
    cache, account_id = cache_for_check(), entitlements.account_id
    key = (account_id, permission, period.key)
    used = estimates.estimate(cache, key)
    fresh = used is None or estimates.near_threshold(used, amount, limit)
    if fresh:
        used = _read_soft(cache, key)
    decision = decide_limit(entitlements, catalog, permission, used or 0, amount, period)
    if not decision.allowed and not fresh:
        used = _read_soft(cache, key)
        decision = decide_limit(entitlements, catalog, permission, used, amount, period)
    if not decision.allowed:
        raise refusal(decision)
    counters.add(account_id, permission, period.key, amount, _shards())
    # Counted before the commit: a rolled-back use leaves the estimate high until the next
    # read, which can only cause an earlier read, never a refusal (refusals read first).
    estimates.added(cache, key, amount)
    return used or 0


def _read_soft(cache: EntitlementsCache, key: tuple[int, str, str]) -> int:
    used = counters.used(*key)
    estimates.remember(cache, key, used)
    return used


def _shards() -> int:
    shards = current_app.config["TIERGATE_LIMITS_COUNTER_SHARDS"]
    if type(shards) is not int or shards < 1:
        raise ConfigurationError(
            f"TIERGATE_LIMITS_COUNTER_SHARDS must be a whole number of at least 1, not {shards!r}"
        )
    return shards


def _after_write(
    account_id: int, permission: str, limit: int | None, before: int, after: int
) -> None:
    """Forget the cached decisions; note each warning threshold the count just crossed."""
    cache_for_check().forget_limits(account_id)
    if limit is None:
        return
    crossed = [t for t in THRESHOLDS if before * 100 < t * limit <= after * 100]
    for threshold in crossed:
        # One e-mail for one write, of the highest threshold it crossed (80 % and 100 % at once
        # is "all used"); a signal for each.
        notify = threshold == crossed[-1]
        note_threshold(account_id, permission, threshold, after, limit, notify=notify)


def usage(account: AccountRef, now: datetime | None = None) -> list[LimitCheck]:
    """Return each limited permission of the account's tier with its usage, by key."""
    account_id, now = _account_id(account), now or utcnow()
    _, entitlements, catalog = _state(account_id, now)
    tier = entitlements.tier
    keys = sorted(tier.limits) if tier is not None else []
    return [check(account_id, key, 0, now) for key in keys if key in catalog.limited]

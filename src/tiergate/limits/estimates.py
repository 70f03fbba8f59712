"""What this process believes a soft count is, so that a soft use need not read the sum.

A soft count is checked against a count read before adding and may overshoot anyway (the
uses in flight); reading the sum of the shards on every use doubled the statements of a use.
The estimate is the sum read at most ``TIERGATE_ENTITLEMENTS_RECHECK_SECONDS`` ago plus this
process's own uses since; it is kept per entitlements cache (so per app) and read again when
stale or near a warning threshold.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from ..entitlements.cache import EntitlementsCache
from .decisions import THRESHOLDS

#: Percentage points below a threshold from which the sum is read again before deciding.
NEAR = 10
_MAX = 100_000
#: cache -> (account, permission, period) -> (count, when the sum was read, cache clock)
_ESTIMATES: WeakKeyDictionary[EntitlementsCache, dict[tuple[int, str, str], tuple[int, float]]]
_ESTIMATES = WeakKeyDictionary()


def estimate(cache: EntitlementsCache, key: tuple[int, str, str]) -> int | None:
    """Return the believed count, or None when it must be read (unknown or stale)."""
    found = _ESTIMATES.get(cache, {}).get(key)
    if found is None or cache.clock() - found[1] >= cache.recheck_seconds:
        return None
    return found[0]


def remember(cache: EntitlementsCache, key: tuple[int, str, str], count: int) -> None:
    """Believe ``count`` as read from the database now."""
    estimates = _ESTIMATES.setdefault(cache, {})
    if len(estimates) >= _MAX:
        estimates.clear()
    estimates[key] = (count, cache.clock())


def added(cache: EntitlementsCache, key: tuple[int, str, str], amount: int) -> None:
    """Add this process's own use to the estimate, keeping when the sum was read."""
    estimates = _ESTIMATES.get(cache, {})
    found = estimates.get(key)
    if found is not None:
        estimates[key] = (found[0] + amount, found[1])


def near_threshold(before: int, amount: int, limit: int | None) -> bool:
    """True when adding ``amount`` to ``before`` may cross a threshold (or the limit)."""
    if limit is None:
        return False
    after = before + amount
    return any(
        before * 100 < threshold * limit and after * 100 >= (threshold - NEAR) * limit
        for threshold in THRESHOLDS
    )

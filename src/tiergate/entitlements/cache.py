"""The per-process entitlements cache.

Entries are keyed by account id. Each remembers the account's and the catalog's version
counters it was computed from; a warm lookup trusts the entry for ``recheck_seconds`` and
then re-reads the two counters (one small query) so that a change committed by any other
process is seen within that time. Commits in this process invalidate at once (see
``versions.py``). An entry also stops at the first moment its decision changes by itself
(a grace period or a grant ending, an invitation expiring), so ``now`` moving on is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Account
from ..db import db, utcnow
from ..errors import NotFound
from .check import CheckResult, decide_permission
from .models import CATALOG_SCOPE, CacheVersion
from .policy import AccessPolicy
from .resolve import CatalogSnapshot, Entitlements, compute_entitlements, read_catalog

_FOREVER = float("inf")


class _Entry:
    __slots__ = (
        "checked_at",
        "entitlements",
        "from_ts",
        "limit_results",
        "results",
        "until_ts",
        "versions",
    )

    def __init__(self, entitlements: Entitlements, versions: tuple[int, int], tick: float) -> None:
        self.entitlements = entitlements
        self.versions = versions
        self.checked_at = tick
        self.from_ts = entitlements.computed_at.timestamp()
        until = entitlements.valid_until
        self.until_ts = until.timestamp() if until is not None else _FOREVER
        self.results: dict[str, CheckResult] = {}
        #: (permission, amount) -> (limit decision, when decided, until when it may hold)
        self.limit_results: dict[tuple[str, int], tuple[Any, float, float]] = {}


def read_versions(account_id: int) -> tuple[int, int]:
    """Return the account's and the catalog's version counters."""
    catalog_version = (
        sa.select(CacheVersion.version).where(CacheVersion.name == CATALOG_SCOPE).scalar_subquery()
    )
    row = db.session.execute(
        sa.select(Account.entitlements_version, catalog_version).where(Account.id == account_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no account {account_id}", account=account_id)
    return (row[0], row[1] or 0)


class EntitlementsCache:
    """Entitlements per account, trusted for ``recheck_seconds`` between version reads."""

    def __init__(
        self,
        policy: AccessPolicy,
        *,
        recheck_seconds: float = 1.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.recheck_seconds = recheck_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[int, _Entry] = {}
        self._catalog: tuple[int, CatalogSnapshot] | None = None
        #: How many times entitlements were computed from the database (for tests, metrics).
        self.computations = 0

    def entitlements(self, account_id: int, now: datetime) -> Entitlements:
        """Return the account's entitlements at ``now``, from the cache when still valid."""
        return self._entry(account_id, now.timestamp(), now).entitlements

    def check(self, account_id: int, permission: str, now: datetime | None = None) -> CheckResult:
        """Decide ``permission`` for the account at ``now`` (default: the current time)."""
        ts = time.time() if now is None else now.timestamp()
        entry = self._entries.get(account_id)
        # The hot path: a fresh entry that has answered this permission before.
        if (
            entry is not None
            and entry.from_ts <= ts < entry.until_ts
            and self.clock() - entry.checked_at < self.recheck_seconds
        ):
            result = entry.results.get(permission)
            if result is not None:
                return result
        entry = self._entry(account_id, ts, now or utcnow())
        result = entry.results.get(permission)
        if result is None:
            result = decide_permission(entry.entitlements, self.catalog(), permission)
            entry.results[permission] = result
        return result

    def cached_limit(self, account_id: int, memo: tuple[str, int], ts: float | None) -> Any:
        """Return a limit decision made within the recheck time, or None (the hot path).

        Counts change with every use: a decision is trusted as long as the entitlements it
        came from, and this process forgets it at once after its own writes.
        """
        entry = self._entries.get(account_id)
        if entry is None:
            return None
        found = entry.limit_results.get(memo)
        if found is None:
            return None
        ts = time.time() if ts is None else ts
        tick = self.clock()
        if (
            entry.from_ts <= ts < entry.until_ts
            and ts < found[2]
            and tick - found[1] < self.recheck_seconds
            and tick - entry.checked_at < self.recheck_seconds
        ):
            return found[0]
        return None

    def remember_limit(
        self, account_id: int, memo: tuple[str, int], result: Any, until: float | None
    ) -> None:
        """Keep a limit decision for ``cached_limit`` (``until``: the period's end)."""
        entry = self._entries.get(account_id)
        if entry is not None:
            entry.limit_results[memo] = (result, self.clock(), until or _FOREVER)

    def forget_limits(self, account_id: int) -> None:
        """Forget the account's limit decisions (its counts changed)."""
        entry = self._entries.get(account_id)
        if entry is not None:
            entry.limit_results.clear()

    def catalog(self, version: int | None = None) -> CatalogSnapshot:
        """Return the catalog snapshot, re-read when ``version`` differs from the cached one."""
        cached = self._catalog
        if cached is not None and (version is None or cached[0] == version):
            return cached[1]
        if version is None:
            version = (
                db.session.scalar(
                    sa.select(CacheVersion.version).where(CacheVersion.name == CATALOG_SCOPE)
                )
                or 0
            )
        snapshot = read_catalog()
        self._catalog = (version, snapshot)
        return snapshot

    def invalidate(self, account_ids: Iterable[int] = (), *, catalog: bool = False) -> None:
        """Forget the given accounts' entries, or everything when the catalog changed."""
        if catalog:
            self._catalog = None
            self._entries.clear()
            return
        for account_id in account_ids:
            self._entries.pop(account_id, None)

    def _entry(self, account_id: int, ts: float, now: datetime) -> _Entry:
        entry = self._entries.get(account_id)
        if entry is not None and entry.from_ts <= ts < entry.until_ts:
            tick = self.clock()
            if tick - entry.checked_at < self.recheck_seconds:
                return entry
            versions = read_versions(account_id)
            if versions == entry.versions:
                entry.checked_at = tick
                return entry
        return self._refresh(account_id, now)

    def _refresh(self, account_id: int, now: datetime) -> _Entry:
        # Versions first: a change racing with the computation leaves the entry labelled with
        # the older version, so the next re-read recomputes rather than keeping stale data.
        versions = read_versions(account_id)
        catalog = self.catalog(versions[1])
        entitlements = compute_entitlements(account_id, now, policy=self.policy, catalog=catalog)
        self.computations += 1
        entry = _Entry(entitlements, versions, self.clock())
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[account_id] = entry
        return entry

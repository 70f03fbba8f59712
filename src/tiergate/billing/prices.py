"""The prices the pricing page shows: each tier's provider price, cached briefly per process.

A tier sold through Stripe or Whop is shown at the price its provider actually charges; the
catalog's ``fallback_price`` is only a stand-in for when that price is unknown (provider
disabled, unreachable, or not set up for the tier). A page view must never wait on a provider
each time, nor fail because one is down: results are cached per process, failures included.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from flask import current_app

from ..errors import TiergateError
from .checkout import yearly_key_of
from .price_format import DisplayPrice
from .providers import get_provider
from .providers.registry import REGISTRY, find_paid_provider

if TYPE_CHECKING:
    from ..catalog.models import SubscriptionTier

logger = logging.getLogger(__name__)

#: How long a provider's prices are reused before they are asked for again.
PRICES_TTL_SECONDS = 300.0
#: How long a failed look-up is remembered, so a provider that is down is not asked on every
#: page view; short, so its prices come back soon after it does.
FAILURE_TTL_SECONDS = 30.0
EXTENSION = "tiergate.prices"


#: At most this many values per cache: a key made of request input cannot grow it unbounded.
MAX_CACHE_ENTRIES = 1024
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key until they expire, at most ``max_entries`` of them (oldest out first)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_CACHE_ENTRIES
    ) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._values: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the value kept for ``key``, or None when absent or expired."""
        with self._lock:
            found = self._values.get(key)
            if found is not None and found[0] <= self.clock():
                del self._values[key]
                found = None
        return found[1] if found is not None else None

    def put(self, key: K, value: V, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds, dropping expired values and then the oldest."""
        now = self.clock()
        with self._lock:
            self._values = {k: v for k, v in self._values.items() if v[0] > now and k != key}
            if ttl <= 0:
                return
            while len(self._values) >= self.max_entries:
                self._values.pop(next(iter(self._values)))
            self._values[key] = (now + ttl, value)

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()


def app_cache(extension: str) -> TtlCache[Any, Any]:
    """Return the current app's cache named ``extension`` (each worker process has its own)."""
    cache = current_app.extensions.get(extension)
    if cache is None:
        cache = current_app.extensions.setdefault(extension, TtlCache())
    return cast("TtlCache[Any, Any]", cache)


#: A provider's prices, kept with the price keys they were asked for.
PriceEntry = tuple[tuple[str, ...], Mapping[str, DisplayPrice]]


def price_cache() -> TtlCache[str, PriceEntry]:
    """Return the current app's price cache: one entry per provider."""
    return app_cache(EXTENSION)


def display_prices(tiers: Iterable[SubscriptionTier]) -> dict[str, DisplayPrice | None]:
    """Return each tier's provider price by tier key, None where the provider's is unknown."""
    return interval_prices(tiers)["month"]


def interval_prices(
    tiers: Iterable[SubscriptionTier],
) -> dict[str, dict[str, DisplayPrice | None]]:
    """Return interval ("month", "year") -> tier key -> the provider's price, or None.

    "month" is each tier's primary price; "year" lists only the tiers with a yearly price. Both
    are asked of each provider in one call, so the cache keeps one entry per provider.
    """
    tiers = list(tiers)
    result: dict[str, dict[str, DisplayPrice | None]] = {
        "month": {tier.key: None for tier in tiers},
        "year": {tier.key: None for tier in tiers if yearly_key_of(tier) is not None},
    }
    for provider, tier_by_ref in _refs_by_provider(tiers).items():
        if not tier_by_ref:
            continue
        found = _provider_prices(provider, tuple(sorted(tier_by_ref)))
        for ref, (tier_key, interval) in tier_by_ref.items():
            result[interval][tier_key] = found.get(ref)
    return result


def _refs_by_provider(tiers: list[SubscriptionTier]) -> dict[str, dict[str, tuple[str, str]]]:
    """Return provider -> price (product) key -> (tier key, interval)."""
    refs: dict[str, dict[str, tuple[str, str]]] = {provider.name: {} for provider in REGISTRY}
    for tier in tiers:
        paid = find_paid_provider(tier.billing_provider)
        if paid is None or not tier.is_customer_facing:
            continue
        key = paid.key_of(tier)
        if key is not None:
            refs[paid.name][key] = (tier.key, "month")
            yearly = yearly_key_of(tier)
            if yearly is not None:
                refs[paid.name][yearly] = (tier.key, "year")
    return refs


def _provider_prices(name: str, refs: tuple[str, ...]) -> Mapping[str, DisplayPrice]:
    cache = price_cache()
    cached = cache.get(name)
    if cached is not None and cached[0] == refs:
        return cached[1]
    provider = get_provider(name)
    if not provider.api_configured:
        return {}  # disabled: nothing to ask, and asking would only raise ProviderDisabled
    try:
        prices = provider.list_prices(refs)
    except (TiergateError, ValueError) as error:
        # ValueError: an amount the formatter cannot read is as unknown as none.
        logger.warning("%s prices are unknown, showing the catalog's: %s", name, error)
        cache.put(name, (refs, {}), FAILURE_TTL_SECONDS)
        return {}
    cache.put(name, (refs, dict(prices)), PRICES_TTL_SECONDS)
    return prices

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


@dataclass(frozen=True)
class _Entry:
    refs: tuple[str, ...]
    prices: Mapping[str, DisplayPrice]
    expires_at: float


class PriceCache:
    """The last prices fetched from each provider, for the refs asked, until they expire."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, provider: str, refs: tuple[str, ...]) -> Mapping[str, DisplayPrice] | None:
        """Return the cached prices of ``refs``, or None when absent, stale or for other refs."""
        with self._lock:
            entry = self._entries.get(provider)
        if entry is None or entry.refs != refs or entry.expires_at <= self.clock():
            return None
        return entry.prices

    def put(
        self, provider: str, refs: tuple[str, ...], prices: Mapping[str, DisplayPrice], ttl: float
    ) -> None:
        """Remember ``prices`` for ``refs`` for ``ttl`` seconds (one entry per provider)."""
        with self._lock:
            self._entries[provider] = _Entry(refs, dict(prices), self.clock() + ttl)

    def clear(self) -> None:
        """Forget every cached price."""
        with self._lock:
            self._entries.clear()


def price_cache() -> PriceCache:
    """Return the current app's price cache (each worker process has its own)."""
    cache = current_app.extensions.get(EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(EXTENSION, PriceCache())
    return cache


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
    cached = cache.get(name, refs)
    if cached is not None:
        return cached
    provider = get_provider(name)
    if not provider.api_configured:
        return {}  # disabled: nothing to ask, and asking would only raise ProviderDisabled
    try:
        prices = provider.list_prices(refs)
    except (TiergateError, ValueError) as error:
        # ValueError: an amount the formatter cannot read is as unknown as none.
        logger.warning("%s prices are unknown, showing the catalog's: %s", name, error)
        cache.put(name, refs, {}, FAILURE_TTL_SECONDS)
        return {}
    cache.put(name, refs, prices, PRICES_TTL_SECONDS)
    return prices

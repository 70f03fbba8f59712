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
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from flask import current_app

from ..errors import TiergateError
from .price_format import format_price, major_amount, whop_interval
from .providers import CatalogMismatch, get_provider
from .providers.http import stripe_error
from .providers.stripe import StripeProvider
from .providers.whop import WhopProvider

if TYPE_CHECKING:
    from ..catalog.models import SubscriptionTier

logger = logging.getLogger(__name__)

#: How long a provider's prices are reused before they are asked for again.
PRICES_TTL_SECONDS = 300.0
#: How long a failed look-up is remembered, so a provider that is down is not asked on every
#: page view; short, so its prices come back soon after it does.
FAILURE_TTL_SECONDS = 30.0
#: Stripe accepts at most this many lookup keys in one prices.list call.
STRIPE_LOOKUP_KEYS_PER_CALL = 10
EXTENSION = "tiergate.prices"


@dataclass(frozen=True)
class DisplayPrice:
    """A tier's price as its provider sells it, with the text the page shows."""

    provider: str
    amount: Decimal
    currency: str
    #: "month", "year", "week" or "day"; None for a one-time price.
    interval: str | None
    interval_count: int
    #: What the page shows, such as "$19/mo" or "€190/yr".
    label: str


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
    tiers = list(tiers)
    result: dict[str, DisplayPrice | None] = {tier.key: None for tier in tiers}
    for provider, tier_by_ref in _refs_by_provider(tiers).items():
        if not tier_by_ref:
            continue
        found = _provider_prices(provider, tuple(sorted(tier_by_ref)))
        for ref, tier_key in tier_by_ref.items():
            result[tier_key] = found.get(ref)
    return result


def _refs_by_provider(tiers: list[SubscriptionTier]) -> dict[str, dict[str, str]]:
    refs: dict[str, dict[str, str]] = {"stripe": {}, "whop": {}}
    for tier in tiers:
        if not tier.is_customer_facing:
            continue
        if tier.billing_provider == "stripe" and tier.stripe_lookup_key:
            refs["stripe"][tier.stripe_lookup_key] = tier.key
        elif tier.billing_provider == "whop" and tier.whop_product_key:
            refs["whop"][tier.whop_product_key] = tier.key
    return refs


def _provider_prices(name: str, refs: tuple[str, ...]) -> Mapping[str, DisplayPrice]:
    cache = price_cache()
    cached = cache.get(name, refs)
    if cached is not None:
        return cached
    provider = get_provider(name)
    if not getattr(provider, "api_configured", False):
        return {}  # disabled: nothing to ask, and asking would only raise ProviderDisabled
    try:
        if isinstance(provider, StripeProvider):
            prices = _stripe_prices(provider, refs)
        else:
            assert isinstance(provider, WhopProvider)
            prices = _whop_prices(provider, refs)
    except (TiergateError, ValueError) as error:
        # ValueError: an amount the formatter cannot read is as unknown as none.
        logger.warning("%s prices are unknown, showing the catalog's: %s", name, error)
        cache.put(name, refs, {}, FAILURE_TTL_SECONDS)
        return {}
    cache.put(name, refs, prices, PRICES_TTL_SECONDS)
    return prices


def _stripe_prices(
    provider: StripeProvider, lookup_keys: tuple[str, ...]
) -> dict[str, DisplayPrice]:
    """Return the display price of each lookup key with exactly one active price."""
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in lookup_keys}
    for start in range(0, len(lookup_keys), STRIPE_LOOKUP_KEYS_PER_CALL):
        chunk = list(lookup_keys[start : start + STRIPE_LOOKUP_KEYS_PER_CALL])
        try:
            page = provider.client.v1.prices.list(
                params={"lookup_keys": chunk, "active": True, "limit": 100}
            )
        except stripe.StripeError as error:
            raise stripe_error(error, "listing the prices of the catalog") from error
        for price in page.data:
            data = price.to_dict()
            found.setdefault(data.get("lookup_key") or "", []).append(data)
    prices: dict[str, DisplayPrice] = {}
    for key in lookup_keys:
        if len(found[key]) != 1:
            logger.warning(
                "Stripe has %d active prices with lookup key %r; showing the catalog's price",
                len(found[key]),
                key,
            )
            continue
        shown = _stripe_display_price(found[key][0])
        if shown is not None:
            prices[key] = shown
    return prices


def _stripe_display_price(price: dict[str, Any]) -> DisplayPrice | None:
    amount = price.get("unit_amount_decimal") or price.get("unit_amount")
    currency = str(price.get("currency") or "")
    if amount is None or not currency:
        return None  # tiered or usage-based: no single amount to show
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval")
    count = int(recurring.get("interval_count") or 1)
    major = major_amount(Decimal(str(amount)), currency)
    return _display("stripe", major, currency, interval, count)


def _whop_prices(provider: WhopProvider, product_ids: tuple[str, ...]) -> dict[str, DisplayPrice]:
    """Return the display price of each product with exactly one visible plan."""
    prices: dict[str, DisplayPrice] = {}
    for product_id in product_ids:
        try:
            plan = provider.find_plan(product_id)
        except CatalogMismatch as mismatch:
            logger.warning("%s; showing the catalog's price", mismatch.message)
            continue
        shown = _whop_display_price(plan)
        if shown is not None:
            prices[product_id] = shown
    return prices


def _whop_display_price(plan: Any) -> DisplayPrice | None:
    recurring = str(plan.plan_type) == "renewal" and plan.billing_period
    amount = plan.renewal_price if recurring else plan.initial_price
    if amount is None or not plan.currency:
        return None
    interval, count = whop_interval(plan.billing_period) if recurring else (None, 1)
    return _display("whop", Decimal(str(amount)), str(plan.currency), interval, count)


def _display(
    provider: str, amount: Decimal, currency: str, interval: str | None, count: int
) -> DisplayPrice:
    label = format_price(amount, currency, interval, count)
    return DisplayPrice(provider, amount, currency.lower(), interval, count, label)

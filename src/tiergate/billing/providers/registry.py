"""The paid billing providers, each declared once: its name, label, catalog field and builder.

The models' CHECK constraints read the names from here, so importing this module must stay
cheap: a provider's SDK module is imported only when the provider is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ...errors import TiergateError

if TYPE_CHECKING:
    from ...catalog.models import SubscriptionTier
    from . import BillingProvider

#: The catalog's provider for tiers nobody pays for: granted by staff, never sold.
EXEMPT: Final = "exempt"


@dataclass(frozen=True)
class PaidProvider:
    """One paid provider as tiergate knows it, before any settings are read."""

    name: str
    #: The name people read in messages and pages.
    label: str
    #: The tier column that names what the provider sells (a price's or a product's key).
    key_field: str
    #: The tier column of its yearly price (product), beside ``key_field`` (the monthly one).
    yearly_key_field: str
    #: Builds the provider from the current app's settings.
    build: Callable[[], BillingProvider]
    #: True when the provider bills usage that tiergate reports (Stripe's billing meters).
    meters: bool = False

    def key_of(self, tier: SubscriptionTier) -> str | None:
        """Return the tier's price or product key at this provider, or None when it has none."""
        key: str | None = getattr(tier, self.key_field)
        return key or None

    def yearly_key_of(self, tier: SubscriptionTier) -> str | None:
        """Return the tier's yearly price or product key here, or None when it has none."""
        key: str | None = getattr(tier, self.yearly_key_field)
        return key or None


def _stripe() -> BillingProvider:
    # Imported here, not above: the SDKs stay unloaded until a provider is needed.
    from .config import stripe_settings
    from .stripe import StripeProvider

    return StripeProvider(stripe_settings())


def _whop() -> BillingProvider:
    from .config import whop_settings
    from .whop import WhopProvider

    return WhopProvider(whop_settings())


#: Every paid provider, in the order lists and CHECK constraints name them.
REGISTRY: Final = (
    PaidProvider(
        "stripe", "Stripe", "stripe_lookup_key", "stripe_yearly_lookup_key", _stripe, meters=True
    ),
    PaidProvider("whop", "Whop", "whop_product_key", "whop_yearly_product_key", _whop),
)
#: The names of the paid providers: the ones that sell tiers and send webhooks.
PAID_PROVIDERS: Final = tuple(provider.name for provider in REGISTRY)
#: What a tier's ``billing_provider`` (and a subscription's ``provider``) may be.
BILLING_PROVIDERS: Final = (EXEMPT, *PAID_PROVIDERS)

_BY_NAME: Final = {provider.name: provider for provider in REGISTRY}


def find_paid_provider(name: str) -> PaidProvider | None:
    """Return the paid provider called ``name``, or None (exempt or unknown)."""
    return _BY_NAME.get(name)


def paid_provider(name: str) -> PaidProvider:
    """Return the paid provider called ``name``, or raise TiergateError."""
    provider = _BY_NAME.get(name)
    if provider is None:
        raise TiergateError(
            f"unknown billing provider {name!r}: expected one of {', '.join(PAID_PROVIDERS)}",
            provider=name,
        )
    return provider

"""Billing providers behind one protocol: Stripe, Whop, and the offline sandbox for both.

Each provider verifies its own webhooks, starts checkouts, and turns its own objects into the
one normalised ``SubscriptionState`` that ``apply_subscription_state`` writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from ...errors import TiergateError
from .registry import PAID_PROVIDERS, paid_provider

if TYPE_CHECKING:
    from ...accounts.models import Account
    from ...catalog.models import SubscriptionTier
    from ..price_format import DisplayPrice
    from ..services import SubscriptionState
    from .listing import ListedSubscription
    from .stripe_meters import MeterUsage

#: The paid providers' names, under the name this module has always exported.
PROVIDER_NAMES = PAID_PROVIDERS


class ProviderDisabled(TiergateError):
    """The provider is not configured, so it cannot be used."""

    code = "provider_disabled"
    status = 503


class WebhookVerificationError(TiergateError):
    """A webhook's signature is missing, malformed, stale or does not match."""

    code = "invalid_webhook_signature"
    status = 400


class ProviderError(TiergateError):
    """The provider answered an outbound call with an error (or not at all)."""

    code = "provider_error"
    status = 502


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered with a server error."""

    code = "provider_unavailable"
    status = 503


class ProviderObjectNotFound(ProviderError):
    """The provider does not know the object asked for."""

    code = "provider_object_not_found"
    status = 404


class MeteringNotSupported(TiergateError):
    """The provider bills no usage: it has no meters to report metered usage to."""

    code = "metering_not_supported"
    status = 422


class UnknownTier(TiergateError):
    """A provider price or product maps to no tier of the catalog."""

    code = "unknown_tier"
    status = 422


class NotOurs(TiergateError):
    """A provider object tiergate did not sell: no tiergate metadata and no catalog price.

    A provider account may bill other products too; their events are recorded and ignored
    (answered 2xx), unlike an object that is tiergate's but names an unknown price, which
    fails and stays replayable.
    """

    code = "not_ours"
    status = 200


class CatalogMismatch(TiergateError):
    """The catalog names a price or product the provider does not have exactly once."""

    code = "catalog_mismatch"
    status = 409


class UnknownAccount(TiergateError):
    """A provider object names no account tiergate knows."""

    code = "unknown_account"
    status = 422


class InvalidLicenseKey(TiergateError):
    """A license key is unknown, inactive, or for another product."""

    code = "invalid_license_key"
    status = 422


@dataclass(frozen=True)
class Event:
    """A verified provider event: who sent it, its id and type, and what it carries."""

    provider: str
    id: str
    type: str
    #: The provider's own timestamp of the event (timezone-aware UTC).
    created: datetime
    #: The object the event is about (Stripe ``data.object``, Whop ``data``).
    data: dict[str, Any]
    #: The whole verified body, parsed; what the inbox stores.
    payload: dict[str, Any] = field(repr=False)


class BillingProvider(Protocol):
    """What every billing provider offers tiergate."""

    name: str

    @property
    def api_configured(self) -> bool:
        """True when outbound API calls are possible (its API key is set)."""
        ...

    def start_checkout(
        self,
        account: Account,
        tier: SubscriptionTier,
        *,
        success_url: str,
        cancel_url: str,
        interval: str = "month",
        replaces: str | None = None,
    ) -> str:
        """Return the URL where the account's owner pays for ``tier`` (``interval``'s price).

        ``replaces`` ("<provider>:<id>") names the subscription the purchase switches away
        from; it travels in the checkout's metadata onto the new subscription.
        """
        ...

    def portal_url(self, account: Account, *, return_url: str) -> str:
        """Return the URL where the account manages or cancels its subscription."""
        ...

    def verify_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> Event:
        """Verify a delivery's signature on its raw body and return the event."""
        ...

    def fetch_subscription(self, provider_subscription_id: str) -> SubscriptionState:
        """Fetch the provider's current state of one subscription."""
        ...

    def states_from_event(self, event: Event) -> list[SubscriptionState]:
        """Return the subscription states a verified event carries (none for most types)."""
        ...

    def list_subscriptions(self, after: str | None = None) -> Iterator[ListedSubscription]:
        """Page through every subscription the provider holds, each mapped or with its error.

        ``after`` is a row's ``resume_after``: the walk goes on from there, page by page.
        """
        ...

    def list_prices(self, keys: tuple[str, ...]) -> dict[str, DisplayPrice]:
        """Return the price shown for each catalog key that has exactly one; skip the rest."""
        ...

    def check_catalog_key(self, key: str) -> str:
        """Say what the provider sells under a catalog key, or raise a TiergateError."""
        ...


class MeteringProvider(BillingProvider, Protocol):
    """A provider that also bills usage: metered prices at checkout, usage reports."""

    def start_checkout(
        self,
        account: Account,
        tier: SubscriptionTier,
        *,
        success_url: str,
        cancel_url: str,
        interval: str = "month",
        replaces: str | None = None,
        metered_price_lookup_keys: Sequence[str] = (),
    ) -> str:
        """Return the checkout URL for ``tier``, with the metered prices of the lookup keys."""
        ...

    def report_meter_events(self, usages: Sequence[MeterUsage]) -> None:
        """Report each usage once (idempotent by identifier); raise ProviderError on failure."""
        ...


def get_provider(name: str) -> BillingProvider:
    """Return the provider called ``name`` configured from the current app."""
    return paid_provider(name).build()


def get_metering_provider(name: str) -> MeteringProvider:
    """Return the provider called ``name`` if it bills usage, else raise MeteringNotSupported."""
    provider = paid_provider(name)
    if not provider.meters:
        raise MeteringNotSupported(
            f"{provider.label} has no usage-based billing: tiergate reports metered usage "
            "to Stripe only",
            provider=name,
        )
    return cast(MeteringProvider, provider.build())


__all__ = [
    "BillingProvider",
    "CatalogMismatch",
    "Event",
    "InvalidLicenseKey",
    "MeteringNotSupported",
    "MeteringProvider",
    "PROVIDER_NAMES",
    "ProviderDisabled",
    "ProviderError",
    "ProviderObjectNotFound",
    "ProviderUnavailable",
    "UnknownAccount",
    "UnknownTier",
    "WebhookVerificationError",
    "get_metering_provider",
    "get_provider",
]

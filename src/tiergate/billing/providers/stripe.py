"""Stripe: checkout, portal, webhook verification and subscription state, via the official SDK."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import stripe

from ...db import utcnow
from ...errors import NotFound
from ..checkout import checkout_terms
from ..webhooks.models import EVENT_ID_LENGTH, EVENT_TYPE_LENGTH
from . import Event, ProviderDisabled, ProviderError
from .common import (
    event_object,
    event_text,
    event_time,
    parse_webhook_body,
    the_one,
    verify_with_any_secret,
    with_operator_token,
)
from .config import StripeSettings
from .http import HttpxStripeClient, calling_stripe
from .listing import ListedSubscription
from .resolve import checkout_metadata, existing_customer_id, owner_email
from .stripe_changes import StripePlanChanges
from .stripe_lifecycle import EXPAND, with_lifecycle
from .stripe_mapping import display_price_of, subscription_id_of, subscription_state
from .stripe_meters import StripeMeters

if TYPE_CHECKING:
    from datetime import datetime

    from ...accounts.models import Account
    from ...catalog.models import SubscriptionTier
    from ..price_format import DisplayPrice
    from ..services import SubscriptionState

logger = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
#: Stripe accepts at most this many lookup keys in one prices.list call.
LOOKUP_KEYS_PER_CALL = 10

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
#: Event types that concern a subscription; every other type is stored and ignored.
HANDLED_EVENTS = SUBSCRIPTION_EVENTS | {
    "checkout.session.completed",
    "invoice.paid",
    "invoice.payment_failed",
}


def make_stripe_client(settings: StripeSettings) -> stripe.StripeClient:
    """Build the SDK client: Stripe itself, or the sandbox / a test transport when set."""
    if not settings.secret_key:
        raise ProviderDisabled(
            "Stripe is not configured: set TIERGATE_STRIPE_SECRET_KEY", provider="stripe"
        )
    http_client = (
        HttpxStripeClient(with_operator_token(settings.transport)) if settings.transport else None
    )
    base_addresses: Any = {"api": settings.api_base} if settings.api_base else None
    return stripe.StripeClient(
        settings.secret_key,
        base_addresses=base_addresses,
        http_client=http_client,
        max_network_retries=settings.max_network_retries,
    )


class StripeProvider(StripePlanChanges, StripeMeters):
    """Stripe behind the billing provider protocol."""

    name = "stripe"

    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        self._sdk: stripe.StripeClient | None = None

    @property
    def api_configured(self) -> bool:
        """True when outbound API calls are possible (a secret key is set)."""
        return bool(self.settings.secret_key)

    @property
    def client(self) -> stripe.StripeClient:
        """The SDK client, built on first use (raises ProviderDisabled without a key)."""
        if self._sdk is None:
            self._sdk = make_stripe_client(self.settings)
        return self._sdk

    def find_price(self, lookup_key: str) -> Any:
        """Return the one active price with ``lookup_key``, or raise CatalogMismatch."""
        with calling_stripe(f"looking up the price {lookup_key!r}"):
            prices = self.client.v1.prices.list(
                params={"lookup_keys": [lookup_key], "active": True, "limit": 10}
            )
        found = list(prices.data)
        return the_one(
            found,
            f"Stripe has {len(found)} active prices with lookup key {lookup_key!r}; "
            "exactly one is needed",
            "stripe",
            lookup_key=lookup_key,
            price_ids=[price.id for price in found],
        )

    def list_prices(self, keys: tuple[str, ...]) -> dict[str, DisplayPrice]:
        """Return the display price of each lookup key with exactly one active price."""
        found = self._active_prices(keys)
        prices: dict[str, DisplayPrice] = {}
        for key in keys:
            if len(found[key]) != 1:
                logger.warning(
                    "Stripe has %d active prices with lookup key %r; showing the catalog's price",
                    len(found[key]),
                    key,
                )
                continue
            shown = display_price_of(found[key][0])
            if shown is not None:
                prices[key] = shown
        return prices

    def check_catalog_key(self, key: str) -> str:
        """Name the one active price with lookup key ``key``, or raise CatalogMismatch."""
        return f"lookup key {key!r}: price {self.find_price(key).id}"

    def start_checkout(
        self,
        account: Account,
        tier: SubscriptionTier,
        *,
        success_url: str,
        cancel_url: str,
        customer_email: str | None = None,
        interval: str = "month",
        replaces: str | None = None,
        metered_price_lookup_keys: Sequence[str] = (),
    ) -> str:
        """Create a subscription Checkout Session for the account and return its URL.

        The session sells the interval's price, for the seats in use on a per-seat tier, with
        the tier's trial (once per account), promotion codes and Stripe Tax as configured;
        beside it, the metered price of each of ``metered_price_lookup_keys`` (billed by usage).
        """
        terms = checkout_terms(account, tier, "stripe", interval)
        price = self.find_price(terms.key)
        metadata = checkout_metadata(account, tier, replaces)
        subscription_data: dict[str, Any] = {"metadata": metadata}
        if terms.trial_days:
            subscription_data["trial_period_days"] = terms.trial_days
        params: dict[str, Any] = {
            "mode": "subscription",
            "line_items": [
                {"price": price.id, "quantity": terms.quantity},
                *self._metered_line_items(metered_price_lookup_keys),
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(account.id),
            "metadata": metadata,
            "subscription_data": subscription_data,
        }
        if self.settings.allow_promotion_codes:
            params["allow_promotion_codes"] = True
        if self.settings.automatic_tax:
            params["automatic_tax"] = {"enabled": True}
        customer = existing_customer_id(account, "stripe")
        email = customer_email or owner_email(account)
        if customer:
            params["customer"] = customer
            if self.settings.automatic_tax:
                # Stripe refuses tax for a customer without an address unless Checkout saves
                # the address it collects onto the customer.
                params["customer_update"] = {"address": "auto"}
        elif email:
            params["customer_email"] = email
        with calling_stripe("creating a checkout session"):
            session = self.client.v1.checkout.sessions.create(params=cast(Any, params))
        if not session.url:
            raise ProviderError("Stripe returned a checkout session without a URL")
        return str(session.url)

    def portal_url(self, account: Account, *, return_url: str) -> str:
        """Create a Customer Portal session for the account's Stripe customer."""
        customer = existing_customer_id(account, "stripe")
        if not customer:
            raise NotFound(
                f"account {account.id} has no Stripe customer yet: subscribe first",
                account_id=account.id,
            )
        return self.portal_url_for_customer(customer, return_url=return_url)

    def verify_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> Event:
        """Verify the Stripe-Signature header against each configured secret."""
        signature = _header(headers, "Stripe-Signature")
        verify_with_any_secret(
            "stripe",
            self.settings.webhook_secrets,
            "TIERGATE_STRIPE_WEBHOOK_SECRET",
            # The signature half of stripe.Webhook.construct_event, on the raw body; the body
            # is then parsed once, with its depth bounded and its shape checked.
            lambda secret: stripe.WebhookSignature.verify_header(
                raw_body.decode("utf-8"), signature, secret, TOLERANCE_SECONDS
            ),
            (stripe.SignatureVerificationError, ValueError),
        )
        return _event(raw_body)

    def fetch_subscription(self, provider_subscription_id: str) -> SubscriptionState:
        """Fetch one subscription from Stripe and return its state as of now."""
        return self._state(self._retrieve(provider_subscription_id), utcnow(), fetched=True)

    def states_from_event(self, event: Event) -> list[SubscriptionState]:
        """Return the subscription state an event concerns (re-fetched when the API is set)."""
        subscription_id = subscription_id_of(event)
        if event.type not in HANDLED_EVENTS or subscription_id is None:
            return []
        hint = event.data.get("client_reference_id")
        if self.api_configured:
            # The re-fetched object is the subscription as it is now, newer than the event
            # (and than any event sent before now): it is stamped now, never the event's time.
            fetched = self._retrieve(subscription_id)
            return [self._state(fetched, max(event.created, utcnow()), hint, fetched=True)]
        if event.type in SUBSCRIPTION_EVENTS:
            return [self._state(event.data, event.created, hint)]
        # Without the API an invoice or checkout event carries no subscription state; the
        # customer.subscription.* event Stripe sends alongside it does.
        return []

    def list_subscriptions(self, after: str | None = None) -> Iterator[ListedSubscription]:
        """Page through every Stripe subscription (any status), mapping each one."""
        # Stamped when the walk began, before any page was read: a state a webhook applied
        # while the walk ran is newer than the page, and must not be overwritten by it.
        listed_at = utcnow()
        params: stripe.params.SubscriptionListParams = {"status": "all", "limit": 100}
        if after:
            params["starting_after"] = after
        with calling_stripe("listing subscriptions"):
            # auto_paging_iter holds one page at a time: memory stays flat however many.
            page = self.client.v1.subscriptions.list(params=params)
            for subscription in page.auto_paging_iter():
                data = subscription.to_dict()
                yield ListedSubscription.of(
                    data["id"],
                    partial(self._state, data, listed_at, fetched=True),
                    resume_after=data["id"],  # Stripe's cursor is the last id seen
                )

    def _active_prices(self, keys: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
        for start in range(0, len(keys), LOOKUP_KEYS_PER_CALL):
            chunk = list(keys[start : start + LOOKUP_KEYS_PER_CALL])
            with calling_stripe("listing the prices of the catalog"):
                page = self.client.v1.prices.list(
                    params={"lookup_keys": chunk, "active": True, "limit": 100}
                )
            for price in page.data:
                data = price.to_dict()
                found.setdefault(data.get("lookup_key") or "", []).append(data)
        return found

    def _retrieve(self, subscription_id: str) -> dict[str, Any]:
        with calling_stripe(f"fetching subscription {subscription_id}"):
            # The schedule is expanded so that a scheduled downgrade is mapped too.
            subscription = self.client.v1.subscriptions.retrieve(
                subscription_id, params={"expand": EXPAND}
            )
        return subscription.to_dict()

    def _state(
        self,
        subscription: dict[str, Any],
        observed_at: datetime,
        hint: Any = None,
        *,
        fetched: bool = False,
    ) -> SubscriptionState:
        state = subscription_state(subscription, observed_at, account_hint=hint, fetched=fetched)
        return with_lifecycle(state, subscription)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _event(raw_body: bytes) -> Event:
    """Return the event a verified body holds, or raise MalformedWebhook saying what is wrong."""
    payload = parse_webhook_body("stripe", raw_body)
    event_id = event_text("stripe", payload.get("id"), "id", EVENT_ID_LENGTH)
    event_type = event_text("stripe", payload.get("type"), "type", EVENT_TYPE_LENGTH)
    created = event_time("stripe", payload.get("created"), "created")
    data = event_object("stripe", payload.get("data") or {}, "data")
    subject = event_object("stripe", data.get("object") or {}, "data.object")
    return Event("stripe", event_id, event_type, created, subject, payload)

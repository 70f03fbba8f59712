"""Stripe plan changes on the provider: the methods ``StripeProvider`` gains from this mixin."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...db import utcnow
from . import ProviderError
from .http import calling_stripe
from .stripe_lifecycle import (
    ChangePreview,
    invoices_at_once,
    release_schedule,
    schedule_at_period_end,
)
from .stripe_lifecycle import item_change as _item_change
from .stripe_lifecycle import preview as _preview
from .stripe_lifecycle import update as _update

if TYPE_CHECKING:
    import stripe

    from ..services import SubscriptionState


class StripePlanChanges:
    """Plan changes, cancellation, resumption and quantities of a Stripe subscription."""

    if TYPE_CHECKING:

        @property
        def client(self) -> stripe.StripeClient: ...

        def find_price(self, lookup_key: str) -> Any: ...
        def fetch_subscription(self, provider_subscription_id: str) -> SubscriptionState: ...
        def _retrieve(self, subscription_id: str) -> dict[str, Any]: ...
        def _state(
            self,
            subscription: dict[str, Any],
            observed_at: datetime,
            hint: Any = None,
            *,
            fetched: bool = False,
        ) -> SubscriptionState: ...

    def preview_change(
        self, subscription_id: str, lookup_key: str, *, proration_behavior: str, quantity: int
    ) -> ChangePreview:
        """Return Stripe's preview of swapping the subscription to the price ``lookup_key``."""
        subscription = self._retrieve(subscription_id)
        price = self.find_price(lookup_key)
        with calling_stripe("previewing the plan change"):
            return _preview(
                self.client,
                subscription,
                price.id,
                proration_behavior=proration_behavior,
                quantity=quantity,
            )

    def change_price(
        self,
        subscription_id: str,
        lookup_key: str,
        *,
        proration_behavior: str,
        idempotency_key: str,
        metadata: dict[str, str],
        quantity: int,
    ) -> SubscriptionState:
        """Swap the subscription item's price now, prorated as asked; return the new state."""
        subscription = self._retrieve(subscription_id)
        price = self.find_price(lookup_key)
        items = [_item_change(subscription, price.id, quantity)]
        settings = {"cancel_at_period_end": False, "metadata": metadata}
        with calling_stripe(f"changing the price of subscription {subscription_id}"):
            release_schedule(self.client, subscription, idempotency_key)
            if not invoices_at_once(subscription, price.to_dict(), proration_behavior):
                params = {"items": items, "proration_behavior": proration_behavior, **settings}
                updated = _update(self.client, subscription_id, params, idempotency_key)
                return self._state(updated, utcnow(), fetched=True)
            # Charged at once: a pending update, so a declined charge leaves the subscription
            # as it was (not past_due in the middle of a paid period). Stripe takes only the
            # change itself in such an update; the rest follows once it is paid.
            params = {
                "items": items,
                "proration_behavior": proration_behavior,
                "payment_behavior": "pending_if_incomplete",
            }
            updated = _update(self.client, subscription_id, params, idempotency_key)
            if updated.get("pending_update"):
                raise ProviderError(
                    "the payment for this change did not go through, so the plan is unchanged: "
                    "update the payment method, then try again",
                    subscription=subscription_id,
                )
            updated = _update(self.client, subscription_id, settings, f"{idempotency_key}:rest")
        return self._state(updated, utcnow(), fetched=True)

    def schedule_change(
        self, subscription_id: str, lookup_key: str, *, idempotency_key: str, quantity: int
    ) -> SubscriptionState:
        """Schedule the swap to ``lookup_key`` for the period end; return the new state."""
        subscription = self._retrieve(subscription_id)
        price = self.find_price(lookup_key)
        with calling_stripe(f"scheduling a change of subscription {subscription_id}"):
            schedule_at_period_end(self.client, subscription, price.id, idempotency_key, quantity)
        return self.fetch_subscription(subscription_id)

    def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, *, idempotency_key: str
    ) -> SubscriptionState:
        """Cancel the subscription at its period end (or resume it); return the new state."""
        subscription = self._retrieve(subscription_id)
        with calling_stripe(
            f"{'cancelling' if cancel else 'resuming'} subscription {subscription_id}"
        ):
            release_schedule(self.client, subscription, idempotency_key)
            updated = _update(
                self.client, subscription_id, {"cancel_at_period_end": cancel}, idempotency_key
            )
        return self._state(updated, utcnow(), fetched=True)

    def set_quantity(
        self, subscription_id: str, quantity: int, *, proration_behavior: str, idempotency_key: str
    ) -> SubscriptionState:
        """Set the subscription item's quantity (per-seat pricing); return the new state."""
        subscription = self._retrieve(subscription_id)
        item = {"id": _item_change(subscription, "", quantity)["id"], "quantity": quantity}
        params = {"items": [item], "proration_behavior": proration_behavior}
        with calling_stripe(f"setting the quantity of subscription {subscription_id}"):
            updated = _update(self.client, subscription_id, params, idempotency_key)
        return self._state(updated, utcnow(), fetched=True)

    def portal_url_for_customer(self, customer_id: str, *, return_url: str) -> str:
        """Create a Customer Portal session for the Stripe customer of one subscription."""
        with calling_stripe("creating a portal session"):
            session = self.client.v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url}
            )
        return str(session.url)

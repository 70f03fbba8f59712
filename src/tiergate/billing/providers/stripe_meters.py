"""Stripe usage-based billing: meter events, reported through the official SDK.

Uses ``POST /v1/billing/meter_events`` (``client.v1.billing.meter_events.create``), one event
per call: Stripe validates each one synchronously and rejects an identifier it already holds
with a 400 ("An event already exists with identifier ..."), so the caller learns at once
whether a report landed. The v2 meter event stream batches up to 100 events, but answers
before validating them and reports rejected events later, by webhook
(``v1.billing.meter.error_report_triggered``), with a session token to renew every 15
minutes; an outbox that must know which reports landed cannot use it as simply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

import stripe

from ...errors import ValidationError
from . import CatalogMismatch, ProviderError
from .http import calling_stripe

logger = logging.getLogger(__name__)

#: Stripe's limit on an event name and on an identifier.
MAX_NAME_LENGTH: Final = 100
#: The start of Stripe's answer to an identifier it has already received.
DUPLICATE_MESSAGE: Final = "An event already exists with identifier"


@dataclass(frozen=True)
class MeterUsage:
    """One usage report for a Stripe billing meter."""

    #: Unique per report: Stripe counts an identifier once (idempotency).
    identifier: str
    #: The ``event_name`` of the Stripe billing meter.
    event_name: str
    #: The Stripe customer (``cus_...``) the usage is billed to.
    customer_id: str
    value: int
    #: When the usage happened (timezone-aware UTC).
    timestamp: datetime


class StripeMeters:
    """Metered usage reported to Stripe: the methods ``StripeProvider`` gains from this mixin."""

    if TYPE_CHECKING:

        @property
        def client(self) -> stripe.StripeClient: ...

        def find_price(self, lookup_key: str) -> Any: ...

    def report_meter_events(self, usages: Sequence[MeterUsage]) -> None:
        """Report each usage to Stripe once; raise ProviderError when one did not land.

        Every usage is checked before anything is sent. An identifier Stripe already holds
        counts as reported. On a failure the error's ``reported`` detail names the
        identifiers that landed before it; reporting the whole batch again is safe.
        """
        for usage in usages:
            check_usage(usage)
        reported: list[str] = []
        for usage in usages:
            try:
                self._report(usage)
            except ProviderError as error:
                error.details.update(reported=reported, failed_identifier=usage.identifier)
                raise
            reported.append(usage.identifier)

    def _metered_line_items(self, lookup_keys: Sequence[str]) -> list[dict[str, Any]]:
        """Return a Checkout line item for the metered price of each lookup key."""
        if isinstance(lookup_keys, str) or len(set(lookup_keys)) != len(lookup_keys):
            raise ValidationError(
                f"metered price lookup keys must be a list without repeats, not {lookup_keys!r}",
                lookup_keys=list(lookup_keys),
            )
        items = []
        for key in lookup_keys:
            price = self.find_price(key)
            recurring = price.to_dict().get("recurring") or {}
            if recurring.get("usage_type") != "metered":
                raise CatalogMismatch(
                    f"Stripe price {price.id} (lookup key {key!r}) is not metered: its "
                    f"recurring.usage_type is {recurring.get('usage_type')!r}",
                    provider="stripe",
                    lookup_key=key,
                )
            # Stripe refuses a quantity for a metered price: usage sets what is billed.
            items.append({"price": price.id})
        return items

    def _report(self, usage: MeterUsage) -> None:
        params: dict[str, Any] = {
            "event_name": usage.event_name,
            "identifier": usage.identifier,
            "payload": {"stripe_customer_id": usage.customer_id, "value": str(usage.value)},
            "timestamp": int(usage.timestamp.timestamp()),
        }
        with calling_stripe(f"reporting meter event {usage.identifier!r}"):
            try:
                self.client.v1.billing.meter_events.create(params=cast(Any, params))
            except stripe.InvalidRequestError as error:
                if not is_duplicate(error, usage.identifier):
                    raise
                logger.info("Stripe already has meter event %r", usage.identifier)


def is_duplicate(error: stripe.InvalidRequestError, identifier: str) -> bool:
    """True when Stripe refused a meter event because it already holds ``identifier``."""
    message = str(error.user_message or "")
    return error.http_status == 400 and message.startswith(f"{DUPLICATE_MESSAGE} {identifier}")


def check_usage(usage: MeterUsage) -> None:
    """Raise ValidationError naming what Stripe would refuse in ``usage``."""
    for name in ("identifier", "event_name"):
        text = getattr(usage, name)
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_NAME_LENGTH:
            raise ValidationError(
                f"meter usage {name} must be 1 to {MAX_NAME_LENGTH} characters, not {text!r}",
                field=name,
            )
    if not isinstance(usage.customer_id, str) or not usage.customer_id.startswith("cus_"):
        raise ValidationError(
            f"meter usage {usage.identifier!r}: customer_id must be a Stripe customer id "
            f"(cus_...), not {usage.customer_id!r}",
            field="customer_id",
        )
    if isinstance(usage.value, bool) or not isinstance(usage.value, int) or usage.value < 0:
        raise ValidationError(
            f"meter usage {usage.identifier!r}: value must be a whole number of at least 0, "
            f"not {usage.value!r}",
            field="value",
        )
    stamp = usage.timestamp
    if not isinstance(stamp, datetime) or stamp.utcoffset() is None:
        raise ValidationError(
            f"meter usage {usage.identifier!r}: timestamp must be a timezone-aware datetime, "
            f"not {stamp!r}",
            field="timestamp",
        )

"""What Stripe and Whop do alike: which tiers they sell, picking the one price, secret rotation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ...errors import ValidationError
from . import CatalogMismatch, ProviderDisabled, WebhookVerificationError
from .registry import paid_provider

if TYPE_CHECKING:
    from ...catalog.models import SubscriptionTier

T = TypeVar("T")


def sold_through(tier: SubscriptionTier, provider: str) -> str:
    """Return the tier's price or product key at ``provider``, or raise ValidationError."""
    paid = paid_provider(provider)
    key = paid.key_of(tier)
    if tier.billing_provider != provider or key is None:
        raise ValidationError(
            f"tier {tier.key!r} is not sold through {paid.label} (it needs billing_provider "
            f"'{provider}' and a {paid.key_field})",
            tier=tier.key,
        )
    return key


def the_one(found: Sequence[T], message: str, provider: str, **details: Any) -> T:
    """Return the only item of ``found``, or raise CatalogMismatch with ``message``."""
    if len(found) != 1:
        raise CatalogMismatch(message, provider=provider, **details)
    return found[0]


def verify_with_any_secret(
    provider: str,
    secrets: Sequence[str],
    setting: str,
    verify: Callable[[str], T],
    rejections: tuple[type[Exception], ...],
) -> T:
    """Return ``verify(secret)`` for the first configured secret that accepts the delivery."""
    label = paid_provider(provider).label
    if not secrets:
        raise ProviderDisabled(
            f"{label} webhooks are not configured: set {setting}", provider=provider
        )
    # Several secrets are configured while one is rotated out: any of them may have signed.
    failure: Exception | None = None
    for secret in secrets:
        try:
            return verify(secret)
        except rejections as error:
            failure = error
    raise WebhookVerificationError(
        f"{label} webhook signature rejected: {failure}", provider=provider
    )

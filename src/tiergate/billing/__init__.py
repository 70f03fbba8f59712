"""Billing: subscriptions and the one service that writes them."""

from __future__ import annotations

from typing import Any

__all__ = ["Subscription", "WebhookEvent"]


def __getattr__(name: str) -> Any:
    """Return the model ``name``, importing it on first use."""
    # Not imported eagerly: catalog.models reads the provider registry in this package, and
    # billing.models imports catalog.models, so an eager import here would be a cycle.
    if name == "Subscription":
        from .models import Subscription

        return Subscription
    if name == "WebhookEvent":
        from .webhooks.models import WebhookEvent

        return WebhookEvent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

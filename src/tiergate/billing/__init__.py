"""Billing: subscriptions and the one service that writes them."""

from __future__ import annotations

from .models import Subscription
from .webhooks.models import WebhookEvent

__all__ = ["Subscription", "WebhookEvent"]

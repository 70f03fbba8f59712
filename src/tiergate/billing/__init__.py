"""Billing: subscriptions and the one service that writes them."""

from __future__ import annotations

from flask import Flask

from .models import Subscription
from .webhooks.models import WebhookEvent

__all__ = ["Subscription", "WebhookEvent", "init_app"]


def init_app(app: Flask) -> None:
    """Bind billing to the app: the providers, their sandbox and its commands."""
    from .providers import init_app as init_providers
    from .webhooks import init_app as init_webhooks

    init_providers(app)
    init_webhooks(app)

"""The webhook inbox: verified provider events, stored first, applied once, replayable."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .models import WebhookEvent

__all__ = ["WebhookEvent", "init_app"]


def init_app(app: Flask) -> None:
    """Serve the webhook endpoints and register the events, reconcile and catalog commands."""
    from ..cli import register_commands
    from .views import webhooks

    app.register_blueprint(webhooks)
    exempt_from_csrf(app)
    register_commands(app)


def exempt_from_csrf(app: Flask) -> None:
    """Exempt the webhook endpoints from CSRF: providers sign their deliveries instead."""
    from .views import webhooks

    csrf: Any = app.extensions.get("csrf")
    if csrf is None:
        # CSRFProtect may be bound after billing; its module-level object takes exemptions
        # before (or without) init_app.
        try:
            from ...accounts import auth
        except ImportError:
            return
        csrf = getattr(auth, "csrf", None)
    if csrf is not None:
        csrf.exempt(webhooks)

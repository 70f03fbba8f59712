"""The offline sandbox: fake Stripe and Whop APIs inside the app, driven by the real SDKs.

Switched on by ``TIERGATE_SANDBOX`` (the standalone app refuses it beside live keys). The
providers' SDK clients are pointed at ``/_sandbox/...`` and reach it through a WSGI transport,
so no socket is opened; checkout pages deliver correctly signed webhooks to tiergate's own
``/webhooks/<provider>`` endpoints the same way. Its tables are a migration branch of their
own, created only where the sandbox is on.
"""

from __future__ import annotations

from flask import Blueprint

from .models import SandboxObject

__all__ = ["SandboxObject", "sandbox_blueprint"]


def sandbox_blueprint() -> Blueprint:
    """Return the blueprint of the fake provider APIs and pages, under /_sandbox."""
    # Each module registers its routes.
    from . import (  # noqa: F401
        invoices,
        pages,
        stripe_api,
        stripe_changes,
        stripe_meters,
        whop_api,
        whop_changes,
    )
    from .blueprint import sandbox

    return sandbox

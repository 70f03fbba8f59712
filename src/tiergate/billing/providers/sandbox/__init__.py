"""The offline sandbox: fake Stripe and Whop APIs inside the app, driven by the real SDKs.

Switched on by ``TIERGATE_SANDBOX=1`` (refused beside live keys, see tiergate.config). The
providers' SDK clients are pointed at ``/_sandbox/...`` and reach it through a WSGI transport,
so no socket is opened; checkout pages deliver correctly signed webhooks to tiergate's own
``/webhooks/<provider>`` endpoints the same way.
"""

from __future__ import annotations

from flask import Flask

from .models import SandboxObject

__all__ = ["SandboxObject", "init_sandbox"]


def init_sandbox(app: Flask) -> None:
    """Serve the fake provider APIs and pages under /_sandbox."""
    from . import pages, stripe_api, whop_api  # noqa: F401 - they register their routes
    from .blueprint import sandbox

    app.register_blueprint(sandbox)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # The SDKs post form-encoded and JSON bodies with no CSRF token, as to the real APIs.
        csrf.exempt(sandbox)

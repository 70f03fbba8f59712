"""Security headers: a strict Content-Security-Policy and its companions.

tiergate sets them on its own pages (``TIERGATE_SECURITY_HEADERS = "blueprints"``, the
default) or on every response of the app (``"app"``, the standalone app's choice).

Every page is served from the package's own files: no inline script or style, no CDN, no
frames. The policy is the same for the pages, the JSON API, its docs page, the webhooks and
the billing sandbox (whose pages are ordinary same-origin pages with forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: Where "Upgrade" and "Manage billing" forms end up. Browsers check form-action against the
#: redirects that follow a form submission too, so with 'self' alone the customer would be
#: stopped at the provider's door. Only configured live providers are added.
PROVIDER_FORM_TARGETS: Mapping[str, tuple[str, ...]] = {
    "TIERGATE_STRIPE_SECRET_KEY": ("https://checkout.stripe.com", "https://billing.stripe.com"),
    "TIERGATE_WHOP_API_KEY": ("https://whop.com",),
}

#: One year; without includeSubDomains so that other hosts of the operator's domain are not
#: forced onto HTTPS by this application.
HSTS = "max-age=31536000"


def form_targets(config: Mapping[str, Any]) -> list[str]:
    """Return the origins forms may submit to (and be redirected to) besides 'self'."""
    targets: list[str] = []
    public = urlsplit(str(config.get("TIERGATE_PUBLIC_URL") or ""))
    if public.scheme in ("http", "https") and public.netloc:
        # Provider links (and the sandbox's pages) are built on PUBLIC_URL: allow its origin
        # even when a browser reaches the app under another name.
        targets.append(f"{public.scheme}://{public.netloc}")
    if not config.get("TIERGATE_SANDBOX"):
        for setting, origins in PROVIDER_FORM_TARGETS.items():
            if config.get(setting):
                targets.extend(origins)
    return targets


def content_security_policy(config: Mapping[str, Any]) -> str:
    """Return the Content-Security-Policy for this app's configuration."""
    directives = {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *form_targets(config)],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(config: Mapping[str, Any]) -> dict[str, str]:
    """Return the headers every response gets under this configuration."""
    headers = {
        "Content-Security-Policy": content_security_policy(config),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if not (config.get("DEBUG") or config.get("TESTING")):
        # Browsers ignore it over plain HTTP, so a local demo is not pinned to HTTPS.
        headers["Strict-Transport-Security"] = HSTS
    return headers

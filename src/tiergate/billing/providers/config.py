"""Provider settings read from the app config, with the sandbox's fixed defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from flask import current_app, has_request_context, request

#: Fixed secrets the sandbox uses when none are configured: they are public on purpose, and
#: the sandbox never runs alongside live keys (see tiergate.config).
SANDBOX_STRIPE_SECRET_KEY = "sk_test_tiergate_sandbox"
SANDBOX_STRIPE_WEBHOOK_SECRET = "whsec_tiergate_sandbox"
SANDBOX_WHOP_API_KEY = "apik_tiergate_sandbox"
SANDBOX_WHOP_WEBHOOK_SECRET = "ws_tiergate_sandbox"

SANDBOX_PREFIX = "/_sandbox"

#: The dated Whop API version tiergate reads (``Api-Version-Date``): the one whop-sdk 2.6's
#: types describe. Pinned so that a membership re-fetched from Whop always has that shape.
DEFAULT_WHOP_API_VERSION_DATE = "2026-10-15-1"


@dataclass(frozen=True)
class StripeSettings:
    """What the Stripe provider needs; ``transport`` routes its HTTP calls (sandbox, tests)."""

    secret_key: str | None
    webhook_secrets: tuple[str, ...]
    api_base: str | None = None
    transport: httpx.BaseTransport | None = None
    max_network_retries: int = 2
    #: Checkout options: the promotion-code box, and Stripe Tax on the checkout.
    allow_promotion_codes: bool = True
    automatic_tax: bool = False


@dataclass(frozen=True)
class WhopSettings:
    """What the Whop provider needs; ``transport`` routes its HTTP calls (sandbox, tests)."""

    api_key: str | None
    webhook_secrets: tuple[str, ...]
    api_base: str | None = None
    company_id: str | None = None
    transport: httpx.BaseTransport | None = None
    max_retries: int = 2
    #: Sent as ``Api-Version-Date`` on every outbound call (None: send none, Whop's default).
    api_version_date: str | None = DEFAULT_WHOP_API_VERSION_DATE


def split_secrets(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Turn a comma-separated setting (or a list) into the secrets it names, in order."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(item.strip() for item in items if item and item.strip())


def stripe_settings(config: Mapping[str, Any] | None = None) -> StripeSettings:
    """Return the Stripe settings of ``config`` (the current app's by default)."""
    config = current_app.config if config is None else config
    key = config.get("TIERGATE_STRIPE_SECRET_KEY") or None
    secrets = split_secrets(config.get("TIERGATE_STRIPE_WEBHOOK_SECRET"))
    promotion_codes = bool(config.get("TIERGATE_STRIPE_ALLOW_PROMOTION_CODES", True))
    automatic_tax = bool(config.get("TIERGATE_STRIPE_AUTOMATIC_TAX", False))
    if not config.get("TIERGATE_SANDBOX"):
        return StripeSettings(
            secret_key=key,
            webhook_secrets=secrets,
            allow_promotion_codes=promotion_codes,
            automatic_tax=automatic_tax,
        )
    return StripeSettings(
        secret_key=key or SANDBOX_STRIPE_SECRET_KEY,
        webhook_secrets=secrets or (SANDBOX_STRIPE_WEBHOOK_SECRET,),
        api_base=sandbox_base_url(config) + "/stripe",
        transport=sandbox_transport(),
        max_network_retries=0,
        allow_promotion_codes=promotion_codes,
        automatic_tax=automatic_tax,
    )


def whop_settings(config: Mapping[str, Any] | None = None) -> WhopSettings:
    """Return the Whop settings of ``config`` (the current app's by default)."""
    config = current_app.config if config is None else config
    key = config.get("TIERGATE_WHOP_API_KEY") or None
    secrets = split_secrets(config.get("TIERGATE_WHOP_WEBHOOK_SECRET"))
    company = config.get("TIERGATE_WHOP_COMPANY_ID") or None
    version = config.get("TIERGATE_WHOP_API_VERSION_DATE", DEFAULT_WHOP_API_VERSION_DATE) or None
    if not config.get("TIERGATE_SANDBOX"):
        return WhopSettings(
            api_key=key, webhook_secrets=secrets, company_id=company, api_version_date=version
        )
    return WhopSettings(
        api_key=key or SANDBOX_WHOP_API_KEY,
        webhook_secrets=secrets or (SANDBOX_WHOP_WEBHOOK_SECRET,),
        api_base=sandbox_base_url(config) + "/whop/api/v1",
        company_id=company or "biz_tiergatesandbox",
        transport=sandbox_transport(),
        max_retries=0,
        api_version_date=version,
    )


def sandbox_base_url(config: Mapping[str, Any]) -> str:
    """Return the sandbox's root URL as a browser reaches it (it appears in checkout links)."""
    public = config.get("TIERGATE_PUBLIC_URL")
    if public:
        root = str(public)
    elif has_request_context():
        root = request.host_url
    else:
        root = "http://localhost:5000"
    return root.rstrip("/") + SANDBOX_PREFIX


def sandbox_transport() -> httpx.BaseTransport:
    """Return a transport that hands requests straight to this app through WSGI.

    No socket is opened, so the sandbox works under the test client, `flask run` and every
    gunicorn worker alike: each worker answers its own provider calls.
    """
    application = current_app._get_current_object()  # type: ignore[attr-defined]
    return httpx.WSGITransport(app=application)

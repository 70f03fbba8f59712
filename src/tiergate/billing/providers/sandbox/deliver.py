"""Sign sandbox events exactly as the providers do and deliver them to tiergate's webhooks."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import stripe
from flask import current_app
from standardwebhooks import Webhook

from ..config import (
    SANDBOX_STRIPE_WEBHOOK_SECRET,
    SANDBOX_WHOP_WEBHOOK_SECRET,
    sandbox_base_url,
    split_secrets,
)

WEBHOOK_PATHS = {"stripe": "/webhooks/stripe", "whop": "/webhooks/whop"}


@dataclass(frozen=True)
class Delivery:
    """One delivered event and how tiergate's endpoint answered it."""

    provider: str
    event_id: str
    event_type: str
    status_code: int
    response: str

    @property
    def ok(self) -> bool:
        """True when the endpoint acknowledged the event (2xx)."""
        return 200 <= self.status_code < 300


def signing_secret(provider: str) -> str:
    """Return the secret the sandbox signs with: the first configured one, else its fixed one."""
    name = (
        "TIERGATE_STRIPE_WEBHOOK_SECRET" if provider == "stripe" else "TIERGATE_WHOP_WEBHOOK_SECRET"
    )
    configured = split_secrets(current_app.config.get(name))
    if configured:
        return configured[0]
    return SANDBOX_STRIPE_WEBHOOK_SECRET if provider == "stripe" else SANDBOX_WHOP_WEBHOOK_SECRET


def signed_request(provider: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a correctly signed delivery of ``payload``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    secret = signing_secret(provider)
    headers = {"Content-Type": "application/json", "User-Agent": "tiergate-sandbox"}
    if provider == "stripe":
        headers["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret
        )
        return body, headers
    # Whop signs with the literal bytes of its ws_... secret; standardwebhooks derives its key
    # by base64-decoding what it is given, so it is given base64 of those bytes.
    signer = Webhook(base64.b64encode(secret.encode()).decode())
    stamp = datetime.fromtimestamp(int(time.time()), UTC)
    message_id = str(payload["id"])
    headers["webhook-id"] = message_id
    headers["webhook-timestamp"] = str(int(stamp.timestamp()))
    headers["webhook-signature"] = signer.sign(message_id, stamp, body.decode())
    return body, headers


def deliver(provider: str, payload: dict[str, Any]) -> Delivery:
    """POST a signed event to this app's own webhook endpoint, in-process through WSGI.

    Call it after committing: the endpoint runs in its own app context and transaction.
    """
    body, headers = signed_request(provider, payload)
    root = sandbox_base_url(current_app.config).rsplit("/_sandbox", 1)[0]
    application = current_app._get_current_object()  # type: ignore[attr-defined]
    with httpx.Client(transport=httpx.WSGITransport(app=application), timeout=30) as client:
        response = client.post(root + WEBHOOK_PATHS[provider], content=body, headers=headers)
    return Delivery(
        provider, str(payload["id"]), str(payload["type"]), response.status_code, response.text
    )


def deliver_all(provider: str, payloads: list[dict[str, Any]]) -> list[Delivery]:
    """Deliver events in order, as the provider would send them."""
    return [deliver(provider, payload) for payload in payloads]

"""Provider events for the inbox tests, signed with the SDKs' own helpers."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import stripe
from flask.testing import FlaskClient
from standardwebhooks import Webhook
from werkzeug.test import TestResponse

from tiergate.audit.models import AuditEvent
from tiergate.billing.models import Subscription
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db

STRIPE_SECRET = "whsec_inbox_tests"
WHOP_SECRET = "ws_inbox_tests"
#: Webhook secrets only: no API key, so states come from the events' own payloads.
WEBHOOK_CONFIG = {
    "TIERGATE_STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
    "TIERGATE_WHOP_WEBHOOK_SECRET": WHOP_SECRET,
}

#: Whop statuses that the Subscription model stores under the same name.
WHOP_STATUSES = ("trialing", "active", "past_due", "canceled")
STRIPE_STATUSES = ("trialing", "active", "past_due", "unpaid", "paused", "canceled")


@dataclass(frozen=True)
class SubState:
    """One state of a provider subscription at a provider timestamp."""

    provider: str
    subscription_id: str
    account_id: int
    tier_key: str
    status: str
    at: int  # Unix seconds
    period_end: int
    cancel_at_period_end: bool = False


def stripe_subscription(state: SubState, lookup_key: str | None = None) -> dict[str, Any]:
    """Return a Stripe subscription object (current API: the period on the item)."""
    key = lookup_key or f"{state.tier_key}_monthly"
    return {
        "id": state.subscription_id,
        "object": "subscription",
        "status": state.status,
        "customer": f"cus_{state.account_id}",
        "cancel_at_period_end": state.cancel_at_period_end,
        "trial_end": state.period_end if state.status == "trialing" else None,
        "metadata": {"tiergate_account_id": str(state.account_id)},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{state.subscription_id}",
                    "current_period_end": state.period_end,
                    "price": {"id": f"price_{key}", "lookup_key": key},
                }
            ],
        },
    }


def stripe_event(
    event_id: str,
    state: SubState,
    *,
    event_type: str = "customer.subscription.updated",
    lookup_key: str | None = None,
) -> dict[str, Any]:
    """Return a Stripe event envelope about ``state``."""
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": state.at,
        "data": {"object": stripe_subscription(state, lookup_key)},
    }


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def whop_event(
    event_id: str, state: SubState, *, event_type: str = "membership.updated", flat: bool = False
) -> dict[str, Any]:
    """Return a Whop event about ``state`` (nested or flat membership shape)."""
    membership: dict[str, Any] = {
        "id": state.subscription_id,
        "status": state.status,
        "cancel_at_period_end": state.cancel_at_period_end,
        "current_period_end": iso(state.period_end),
        "metadata": {"tiergate_account_id": str(state.account_id)},
    }
    product, user = f"prod_{state.tier_key}", f"user_{state.account_id}"
    if flat:
        membership.update(product_id=product, user_id=user)
    else:
        membership.update(product={"id": product}, user={"id": user})
    return {
        "id": event_id,
        "api_version": "v1",
        "type": event_type,
        "timestamp": iso(state.at),
        "data": membership,
    }


def event_for(event_id: str, state: SubState) -> dict[str, Any]:
    """Return the provider's event about ``state``."""
    if state.provider == "stripe":
        return stripe_event(event_id, state)
    return whop_event(event_id, state, flat=state.at % 2 == 0)


def stripe_headers(body: bytes, secret: str = STRIPE_SECRET, timestamp: int | None = None):
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def whop_headers(
    body: bytes, message_id: str, secret: str = WHOP_SECRET, at: int | None = None
) -> dict[str, str]:
    # Whop signs with the literal secret bytes: standardwebhooks gets them base64-encoded.
    signer = Webhook(base64.b64encode(secret.encode()).decode())
    stamp = datetime.fromtimestamp(at if at is not None else int(time.time()), UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signer.sign(message_id, stamp, body.decode()),
        "Content-Type": "application/json",
    }


def deliver(client: FlaskClient, provider: str, payload: dict[str, Any]) -> TestResponse:
    """POST ``payload`` to the provider's webhook endpoint, correctly signed.

    The request gets an app context (so a database session) of its own, as in production,
    instead of reusing the test's.
    """
    body = json.dumps(payload).encode()
    if provider == "stripe":
        headers = stripe_headers(body)
    else:
        headers = whop_headers(body, str(payload["id"]))
    with client.application.app_context():
        return client.post(f"/webhooks/{provider}", data=body, headers=headers)


def subscription_rows() -> list[tuple[Any, ...]]:
    """Every subscription as comparable values, in a stable order."""
    db.session.rollback()  # a fresh snapshot: the endpoint committed on its own session
    rows = db.session.scalars(
        sa.select(Subscription).order_by(
            Subscription.provider, Subscription.provider_subscription_id
        )
    )
    return [
        (
            row.provider,
            row.provider_subscription_id,
            row.account_id,
            row.tier.key,
            row.status,
            row.current_period_end,
            row.cancel_at_period_end,
            row.provider_updated_at,
        )
        for row in rows
    ]


def subscription_audit(actor_id: str | None = None) -> list[AuditEvent]:
    """Subscription audit events, oldest first (optionally of one provider event)."""
    db.session.rollback()
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.target_type == "subscription")
        .order_by(AuditEvent.id)
    )
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(query))


def inbox() -> dict[str, WebhookEvent]:
    """Every stored event by provider event id."""
    db.session.rollback()
    return {row.provider_event_id: row for row in db.session.scalars(sa.select(WebhookEvent))}


def clean_billing() -> None:
    """Forget every subscription, stored event and subscription audit event (catalog stays)."""
    db.session.rollback()
    db.session.execute(sa.delete(WebhookEvent))
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.target_type == "subscription"))
    db.session.execute(sa.delete(Subscription))
    db.session.commit()

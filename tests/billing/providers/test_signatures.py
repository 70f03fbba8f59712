"""Webhook signature verification per provider, signed with the SDKs' own helpers."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
import stripe
from standardwebhooks import Webhook

from tiergate.billing.providers import ProviderDisabled, WebhookVerificationError
from tiergate.billing.providers.config import StripeSettings, WhopSettings
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.providers.whop import WhopProvider

STRIPE_SECRET = "whsec_current"
STRIPE_OLD = "whsec_previous"
WHOP_SECRET = "ws_current_secret"
WHOP_OLD = "ws_previous_secret"

STRIPE_BODY = json.dumps(
    {
        "id": "evt_1",
        "object": "event",
        "type": "customer.subscription.updated",
        "created": 1767268800,
        "data": {"object": {"id": "sub_1", "object": "subscription", "status": "active"}},
    }
).encode()

WHOP_BODY = json.dumps(
    {
        "id": "msg_1",
        "api_version": "v1",
        "type": "membership.activated",
        "timestamp": "2026-01-01T12:00:00.000Z",
        "data": {"id": "mem_1", "status": "active", "product": {"id": "prod_pro"}},
    }
).encode()


def stripe_provider(*secrets: str) -> StripeProvider:
    return StripeProvider(StripeSettings(secret_key=None, webhook_secrets=secrets))


def whop_provider(*secrets: str) -> WhopProvider:
    return WhopProvider(WhopSettings(api_key=None, webhook_secrets=secrets))


def stripe_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return {"Stripe-Signature": header}


def whop_headers(body: bytes, secret: str, at: datetime | None = None) -> dict[str, str]:
    # Whop signs with the literal secret bytes: standardwebhooks gets them base64-encoded.
    signer = Webhook(base64.b64encode(secret.encode()).decode())
    at = at or datetime.fromtimestamp(int(time.time()), UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signer.sign("msg_1", at, body.decode()),
    }


def test_stripe_valid_signature_gives_the_event() -> None:
    event = stripe_provider(STRIPE_SECRET).verify_webhook(
        STRIPE_BODY, stripe_headers(STRIPE_BODY, STRIPE_SECRET)
    )
    assert (event.provider, event.id, event.type) == (
        "stripe",
        "evt_1",
        "customer.subscription.updated",
    )
    assert event.created == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert event.data == {"id": "sub_1", "object": "subscription", "status": "active"}
    assert event.payload == json.loads(STRIPE_BODY)


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (
            STRIPE_BODY.replace(b"active", b"canceled"),
            stripe_headers(STRIPE_BODY, STRIPE_SECRET),
            "matching",
        ),
        (STRIPE_BODY, stripe_headers(STRIPE_BODY, "whsec_wrong"), "matching"),
        (
            STRIPE_BODY,
            stripe_headers(STRIPE_BODY, STRIPE_SECRET, int(time.time()) - 301),
            "tolerance",
        ),
        (STRIPE_BODY, {}, "No Stripe-Signature header"),
        (STRIPE_BODY, {"Stripe-Signature": "garbage"}, "Unable to extract"),
        (STRIPE_BODY, {"Stripe-Signature": "t=123,v0=abc"}, "No signatures found"),
    ],
    ids=["tampered", "wrong-secret", "stale", "missing", "malformed", "wrong-scheme"],
)
def test_stripe_rejects_bad_signatures(body: bytes, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        stripe_provider(STRIPE_SECRET).verify_webhook(body, headers)
    assert reason in caught.value.message
    assert caught.value.status == 400


def test_stripe_accepts_every_secret_of_a_rotation() -> None:
    provider = stripe_provider(STRIPE_SECRET, STRIPE_OLD)
    for secret in (STRIPE_SECRET, STRIPE_OLD):
        event = provider.verify_webhook(STRIPE_BODY, stripe_headers(STRIPE_BODY, secret))
        assert event.id == "evt_1"
    with pytest.raises(WebhookVerificationError):
        provider.verify_webhook(STRIPE_BODY, stripe_headers(STRIPE_BODY, "whsec_retired"))


def test_stripe_webhooks_need_only_the_webhook_secret() -> None:
    with pytest.raises(ProviderDisabled, match="set TIERGATE_STRIPE_WEBHOOK_SECRET") as caught:
        stripe_provider().verify_webhook(STRIPE_BODY, stripe_headers(STRIPE_BODY, STRIPE_SECRET))
    assert caught.value.status == 503


def test_whop_valid_signature_gives_the_event() -> None:
    event = whop_provider(WHOP_SECRET).verify_webhook(
        WHOP_BODY, whop_headers(WHOP_BODY, WHOP_SECRET)
    )
    assert (event.provider, event.id, event.type) == ("whop", "msg_1", "membership.activated")
    assert event.created == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert event.data["id"] == "mem_1"


def test_whop_header_names_are_case_insensitive() -> None:
    headers = {name.title(): value for name, value in whop_headers(WHOP_BODY, WHOP_SECRET).items()}
    assert whop_provider(WHOP_SECRET).verify_webhook(WHOP_BODY, headers).id == "msg_1"


def test_whop_key_is_the_literal_secret_not_its_base64_decoding() -> None:
    # Signing with standardwebhooks' own reading of the secret (base64-decoding it) is not
    # what Whop does, so such a signature must not verify.
    signer = Webhook("whsec_" + base64.b64encode(b"other-bytes").decode())
    at = datetime.fromtimestamp(int(time.time()), UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signer.sign("msg_1", at, WHOP_BODY.decode()),
    }
    with pytest.raises(WebhookVerificationError):
        whop_provider(WHOP_SECRET).verify_webhook(WHOP_BODY, headers)


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (WHOP_BODY.replace(b"active", b"expired"), whop_headers(WHOP_BODY, WHOP_SECRET)),
        (WHOP_BODY, whop_headers(WHOP_BODY, "ws_wrong")),
        (
            WHOP_BODY,
            whop_headers(WHOP_BODY, WHOP_SECRET, datetime.fromtimestamp(time.time() - 600, UTC)),
        ),
        (WHOP_BODY, _without(whop_headers(WHOP_BODY, WHOP_SECRET), "webhook-signature")),
        (WHOP_BODY, _without(whop_headers(WHOP_BODY, WHOP_SECRET), "webhook-timestamp")),
        (WHOP_BODY, {**whop_headers(WHOP_BODY, WHOP_SECRET), "webhook-signature": "garbage"}),
        (WHOP_BODY, {**whop_headers(WHOP_BODY, WHOP_SECRET), "webhook-timestamp": "soon"}),
    ],
    ids=[
        "tampered",
        "wrong-secret",
        "stale",
        "missing-signature",
        "missing-timestamp",
        "malformed-signature",
        "malformed-timestamp",
    ],
)
def test_whop_rejects_bad_signatures(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        whop_provider(WHOP_SECRET).verify_webhook(body, headers)
    assert caught.value.status == 400


def test_whop_accepts_every_secret_of_a_rotation() -> None:
    provider = whop_provider(WHOP_SECRET, WHOP_OLD)
    for secret in (WHOP_SECRET, WHOP_OLD):
        assert provider.verify_webhook(WHOP_BODY, whop_headers(WHOP_BODY, secret)).id == "msg_1"
    with pytest.raises(WebhookVerificationError):
        provider.verify_webhook(WHOP_BODY, whop_headers(WHOP_BODY, "ws_retired"))


def test_whop_webhooks_need_only_the_webhook_secret() -> None:
    with pytest.raises(ProviderDisabled, match="set TIERGATE_WHOP_WEBHOOK_SECRET"):
        whop_provider().verify_webhook(WHOP_BODY, whop_headers(WHOP_BODY, WHOP_SECRET))


def test_a_verified_body_that_is_not_an_event_is_rejected() -> None:
    body = b'{"hello": "world"}'
    with pytest.raises(WebhookVerificationError, match="not an event"):
        stripe_provider(STRIPE_SECRET).verify_webhook(body, stripe_headers(body, STRIPE_SECRET))

"""The sandbox's signed deliveries verify with the providers' own checks, over WSGI."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request

from tiergate.billing.providers.config import StripeSettings, WhopSettings
from tiergate.billing.providers.sandbox import stripe_objects, whop_objects
from tiergate.billing.providers.sandbox.deliver import deliver
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.providers.whop import WhopProvider
from tiergate.errors import TiergateError, domain_error_response


def receiver(**config: Any) -> tuple[Flask, list[tuple[str, str]]]:
    """A stand-in webhook receiver that verifies with the configured secrets."""
    app = Flask("receiver")
    app.config.update(config)
    app.register_error_handler(TiergateError, domain_error_response)
    received: list[tuple[str, str]] = []
    stripe = StripeProvider(
        StripeSettings(None, ("whsec_other", config["TIERGATE_STRIPE_WEBHOOK_SECRET"]))
    )
    whop = WhopProvider(WhopSettings(None, (config["TIERGATE_WHOP_WEBHOOK_SECRET"],)))

    @app.post("/webhooks/<name>")
    def webhook(name: str) -> Any:
        provider = stripe if name == "stripe" else whop
        event = provider.verify_webhook(request.get_data(), request.headers)
        received.append((name, event.type))
        return {"received": event.id}

    return app, received


@pytest.mark.parametrize("provider", ["stripe", "whop"])
def test_deliveries_are_signed_with_the_configured_secret(provider: str) -> None:
    app, received = receiver(
        TIERGATE_STRIPE_WEBHOOK_SECRET="whsec_live_like", TIERGATE_WHOP_WEBHOOK_SECRET="ws_123"
    )
    if provider == "stripe":
        payload = stripe_objects.event("customer.subscription.updated", {"id": "sub_1"})
    else:
        payload = whop_objects.event("membership.updated", {"id": "mem_1"})
    with app.app_context():
        delivery = deliver(provider, payload)
    assert delivery.ok, delivery.response
    assert delivery.response.strip() == f'{{"received":"{payload["id"]}"}}'
    assert received == [(provider, payload["type"])]


def test_a_receiver_with_another_secret_rejects_the_delivery() -> None:
    app, received = receiver(
        TIERGATE_STRIPE_WEBHOOK_SECRET="whsec_a", TIERGATE_WHOP_WEBHOOK_SECRET="ws_a"
    )
    with app.app_context():
        app.config["TIERGATE_STRIPE_WEBHOOK_SECRET"] = "whsec_not_the_receivers"
        delivery = deliver("stripe", stripe_objects.event("invoice.paid", {"id": "in_1"}))
    assert delivery.status_code == 400
    assert "signature rejected" in delivery.response
    assert received == []

"""Stands in for tiergate's webhook inbox: verify each signed delivery, then apply it."""

from __future__ import annotations

from typing import Any

from tiergate.audit.services import Actor
from tiergate.billing.providers import get_provider
from tiergate.billing.providers.sandbox.deliver import Delivery, signed_request
from tiergate.billing.services import apply_subscription_state
from tiergate.db import db


class Inbox:
    """Receives the sandbox's deliveries through the providers' own verification."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        #: The payloads delivered, in order.
        self.payloads: list[dict[str, Any]] = []

    def deliver_all(self, provider_name: str, payloads: list[dict[str, Any]]) -> list[Delivery]:
        provider = get_provider(provider_name)
        deliveries = []
        for payload in payloads:
            body, headers = signed_request(provider_name, payload)
            event = provider.verify_webhook(body, headers)
            for state in provider.states_from_event(event):
                apply_subscription_state(state, actor=Actor.provider(provider_name, event.id))
            db.session.commit()
            self.events.append((provider_name, event.type))
            self.payloads.append(payload)
            deliveries.append(Delivery(provider_name, event.id, event.type, 200, "ok"))
        return deliveries

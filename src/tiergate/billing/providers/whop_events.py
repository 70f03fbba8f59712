"""Whop webhook bodies: Standard Webhooks verification and the event envelope's fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whop_sdk.lib.verify_webhook import unwrap

from ..webhooks.models import EVENT_ID_LENGTH, EVENT_TYPE_LENGTH
from . import Event
from .common import MalformedWebhook, event_object, event_text, event_time
from .resolve import from_iso


def unwrap_body(raw_body: bytes, headers: Mapping[str, str], secret: str) -> Any:
    """Return the parsed body if ``secret`` signed it (whop-sdk's Standard Webhooks check)."""
    try:
        return unwrap(raw_body, headers=headers, key=secret)
    except ValueError as error:
        # The key is never empty, so unwrap's ValueError means the signature matched and the
        # body is not a JSON object: that is no reason to try the next secret.
        raise MalformedWebhook(
            f"Whop webhook body is not a JSON object: {error}", provider="whop"
        ) from None


def event_from_payload(payload: Any, headers: Mapping[str, str]) -> Event:
    """Return the event a verified body holds, or raise MalformedWebhook saying what is wrong."""
    payload = event_object("whop", payload, "body")
    event_id = event_text(
        "whop", payload.get("id") or headers.get("webhook-id"), "id", EVENT_ID_LENGTH
    )
    event_type = event_text(
        "whop", payload.get("type") or payload.get("action"), "type", EVENT_TYPE_LENGTH
    )
    stamp = payload.get("timestamp") or headers.get("webhook-timestamp")
    try:
        parsed = from_iso(stamp)
    except (ValueError, TypeError, OverflowError):
        parsed = None
    if parsed is None:
        raise MalformedWebhook(
            f"Whop webhook timestamp {str(stamp)[:40]!r} is not a date", provider="whop"
        )
    created = event_time("whop", int(parsed.timestamp()), "timestamp")
    data = event_object("whop", payload.get("data"), "data")
    return Event("whop", event_id, event_type, created, data, payload)

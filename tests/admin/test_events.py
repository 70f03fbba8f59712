"""Webhook events in the console: filters, the escaped payload, and replays that really fail."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import sqlalchemy as sa
import stripe

from tiergate.billing.models import Subscription
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db

from .conftest import STRIPE_SECRET
from .support import submit, text


def stripe_event(event_id: str, account_id: int, lookup_key: str, **extra: Any) -> dict[str, Any]:
    """A customer.subscription.updated event for a price with ``lookup_key``."""
    now = int(time.time())
    return {
        "id": event_id,
        "object": "event",
        "type": "customer.subscription.updated",
        "created": now,
        "data": {
            "object": {
                "id": f"sub_{event_id}",
                "object": "subscription",
                "status": "active",
                "customer": f"cus_{account_id}",
                "cancel_at_period_end": False,
                "metadata": {"tiergate_account_id": str(account_id), **extra},
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": f"si_{event_id}",
                            "current_period_end": now + 30 * 86400,
                            "price": {"id": f"price_{lookup_key}", "lookup_key": lookup_key},
                        }
                    ],
                },
            }
        },
    }


def deliver(client, payload: dict[str, Any]) -> int:
    """POST a correctly signed Stripe event to the webhook endpoint; return the status."""
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET)
    response = client.post(
        "/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    return response.status_code


def event_row(provider_event_id: str) -> WebhookEvent:
    db.session.rollback()
    row = db.session.scalar(
        sa.select(WebhookEvent).where(WebhookEvent.provider_event_id == provider_event_id)
    )
    assert row is not None
    return row


def test_a_failed_event_is_replayed_after_the_catalog_is_fixed(staff, cast) -> None:
    assert deliver(staff, stripe_event("evt_gold", cast.account.id, "gold_monthly")) == 500
    failed = event_row("evt_gold")
    assert failed.status == "failed"
    assert "gold_monthly" in (failed.last_error or "")

    page = text(staff.get("/admin/events?status=failed"))
    assert "evt_gold" in page and "gold_monthly" in page
    detail = text(staff.get(f"/admin/events/{failed.id}"))
    assert "Replay this event" in detail

    # Replaying before the fix fails again, and says so.
    url = f"/admin/events/{failed.id}"
    response = submit(staff, url, f"{url}/replay")
    assert response.status_code == 302
    assert "failed again" in text(staff.get(url))
    assert event_row("evt_gold").attempts == 2

    # Fix the catalog through the console: a tier with that lookup key.
    response = submit(
        staff,
        "/admin/tiers/new",
        name="Gold",
        key="gold",
        rank="40",
        user_limit="25",
        billing_provider="stripe",
        stripe_lookup_key="gold_monthly",
        fallback_price="$99",
    )
    assert response.status_code == 302
    response = submit(staff, url, f"{url}/replay")
    assert response.status_code == 302
    assert event_row("evt_gold").status == "processed"
    assert f"Event {failed.id} replayed: processed." in text(staff.get(url))
    subscription = db.session.scalar(
        sa.select(Subscription).where(Subscription.provider_subscription_id == "sub_evt_gold")
    )
    assert subscription is not None and subscription.tier.key == "gold"
    account_page = text(staff.get(f"/admin/accounts/{cast.account.id}"))
    assert 'id="effective-tier">Gold <code>gold</code>' in account_page
    # A processed event has nothing left to replay.
    assert "Replay this event" not in text(staff.get(url))


def test_replay_all_asks_first_then_replays_every_failed_event(staff, cast) -> None:
    for index in range(3):
        event = stripe_event(f"evt_{index}", cast.account.id, "silver_monthly")
        assert deliver(staff, event) == 500
    confirm = staff.get("/admin/events/replay-failed")
    assert confirm.status_code == 200
    assert "3 events failed or never finished." in text(confirm)
    assert {event_row(f"evt_{i}").attempts for i in range(3)} == {1}  # the GET only asks

    response = submit(
        staff,
        "/admin/tiers/new",
        name="Silver",
        key="silver",
        billing_provider="stripe",
        stripe_lookup_key="silver_monthly",
        rank="5",
        user_limit="3",
    )
    assert response.status_code == 302
    response = submit(staff, "/admin/events/replay-failed")
    assert response.status_code == 302
    assert "Replayed 3 events: 3 done, 0 still failing." in text(staff.get("/admin/events"))
    assert {event_row(f"evt_{i}").status for i in range(3)} == {"processed"}


def test_events_filter_by_provider_status_and_type(staff, cast) -> None:
    assert deliver(staff, stripe_event("evt_ok", cast.account.id, "pro_monthly")) == 200
    assert deliver(staff, stripe_event("evt_bad", cast.account.id, "nope_monthly")) == 500

    def listed(query: str) -> list[str]:
        return re.findall(r"<code>(evt_\w+)</code>", text(staff.get(f"/admin/events{query}")))

    assert listed("") == ["evt_bad", "evt_ok"]
    assert listed("?status=failed") == ["evt_bad"]
    assert listed("?status=processed&provider=stripe") == ["evt_ok"]
    assert listed("?provider=whop") == []
    assert listed("?type=CUSTOMER.subscription") == ["evt_bad", "evt_ok"]  # a type's start
    assert listed("?type=customer.subscription.updated") == ["evt_bad", "evt_ok"]
    assert listed("?type=subscription.updated") == []  # not the middle of one
    assert listed("?type=invoice") == []


def test_the_payload_is_pretty_printed_and_escaped(staff, cast) -> None:
    hostile = '<script>alert("x")</script>'
    assert (
        deliver(staff, stripe_event("evt_x", cast.account.id, "pro_monthly", note=hostile)) == 200
    )
    page = text(staff.get(f"/admin/events/{event_row('evt_x').id}"))
    assert "<script>alert" not in page
    assert r"&lt;script&gt;alert(\&#34;x\&#34;)&lt;/script&gt;" in page
    assert "\n  &#34;data&#34;: {\n" in page  # indented JSON
    assert staff.get("/admin/events/999").status_code == 404

"""The webhook endpoints: signatures, sizes, duplicates, unknown types, unknown tiers."""

from __future__ import annotations

import json
import logging
import time

import pytest

from tiergate.catalog import services as catalog
from tiergate.db import db

from ...accounts.factories import make_account
from .support import (
    STRIPE_SECRET,
    WHOP_SECRET,
    SubState,
    deliver,
    inbox,
    stripe_event,
    stripe_headers,
    subscription_audit,
    subscription_rows,
    whop_event,
    whop_headers,
)

AT = 1_767_268_800  # 2026-01-01 12:00 UTC


@pytest.fixture
def acme(inbox_app):
    return make_account("acme")


def pro(account, *, status: str = "active", at: int = AT, sub: str = "sub_1") -> SubState:
    return SubState("stripe", sub, account.id, "pro", status, at, at + 30 * 86400)


def enterprise(account, *, status: str = "active", at: int = AT) -> SubState:
    return SubState("whop", "mem_1", account.id, "enterprise", status, at, at + 30 * 86400)


def test_a_valid_stripe_event_is_stored_and_applied(inbox_app, acme) -> None:
    response = deliver(inbox_app.test_client(), "stripe", stripe_event("evt_1", pro(acme)))
    assert response.status_code == 200, response.json
    assert response.json == {
        "received": True,
        "event": "evt_1",
        "status": "processed",
        "duplicate": False,
    }
    stored = inbox()["evt_1"]
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 1, None)
    assert stored.type == "customer.subscription.updated"
    assert stored.provider_created_at.timestamp() == AT
    assert stored.payload["data"]["object"]["id"] == "sub_1"
    assert [(r[1], r[2], r[3], r[4]) for r in subscription_rows()] == [
        ("sub_1", acme.id, "pro", "active")
    ]


@pytest.mark.parametrize("flat", [False, True], ids=["nested", "flat"])
def test_a_valid_whop_event_is_applied_in_both_shapes(inbox_app, acme, flat) -> None:
    payload = whop_event("msg_1", enterprise(acme), event_type="membership.activated", flat=flat)
    response = deliver(inbox_app.test_client(), "whop", payload)
    assert response.status_code == 200, response.json
    assert inbox()["msg_1"].status == "processed"
    assert [(r[1], r[3], r[4]) for r in subscription_rows()] == [("mem_1", "enterprise", "active")]


def _stripe_body(acme) -> bytes:
    return json.dumps(stripe_event("evt_bad", pro(acme))).encode()


def _forged_requests(acme):
    body = _stripe_body(acme)
    good = stripe_headers(body)
    stale = stripe_headers(body, timestamp=int(time.time()) - 301)
    return {
        "tampered": (body.replace(b"active", b"paused"), good),
        "wrong-secret": (body, stripe_headers(body, "whsec_someone_else")),
        "stale": (body, stale),
        "missing": (body, {"Content-Type": "application/json"}),
        "malformed": (body, {"Stripe-Signature": "t=abc,v1="}),
    }


@pytest.mark.parametrize("case", ["tampered", "wrong-secret", "stale", "missing", "malformed"])
def test_a_bad_stripe_signature_is_rejected_and_nothing_is_stored(
    inbox_app, acme, case, caplog
) -> None:
    body, headers = _forged_requests(acme)[case]
    with caplog.at_level(logging.WARNING, logger="tiergate.billing.webhooks.views"):
        response = inbox_app.test_client().post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_webhook_signature"
    assert "stripe webhook rejected" in caplog.text
    assert inbox() == {}
    assert subscription_rows() == []


@pytest.mark.parametrize("case", ["tampered", "wrong-secret", "stale", "missing"])
def test_a_bad_whop_signature_is_rejected_and_nothing_is_stored(inbox_app, acme, case) -> None:
    body = json.dumps(whop_event("msg_bad", enterprise(acme))).encode()
    headers = {
        "tampered": whop_headers(body, "msg_bad"),
        "wrong-secret": whop_headers(body, "msg_bad", secret="ws_someone_else"),
        "stale": whop_headers(body, "msg_bad", at=int(time.time()) - 3600),
        "missing": {"Content-Type": "application/json"},
    }[case]
    if case == "tampered":
        body = body.replace(b"active", b"canceled")
    response = inbox_app.test_client().post("/webhooks/whop", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_webhook_signature"
    assert inbox() == {}
    assert subscription_rows() == []


def test_a_body_over_one_mib_is_refused_with_413(inbox_app, acme, caplog) -> None:
    payload = stripe_event("evt_big", pro(acme))
    payload["padding"] = "x" * (1024 * 1024)
    body = json.dumps(payload).encode()
    with caplog.at_level(logging.WARNING, logger="tiergate.billing.webhooks.views"):
        response = inbox_app.test_client().post(
            "/webhooks/stripe", data=body, headers=stripe_headers(body)
        )
    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large"
    assert "body over" in caplog.text
    assert inbox() == {}


def test_a_body_just_under_one_mib_is_stored_whole(inbox_app, acme) -> None:
    payload = stripe_event("evt_large", pro(acme))
    payload["padding"] = ""
    size = len(json.dumps(payload).encode())
    payload["padding"] = "x" * (1024 * 1024 - size)
    assert len(json.dumps(payload).encode()) == 1024 * 1024
    response = deliver(inbox_app.test_client(), "stripe", payload)
    assert response.status_code == 200, response.json
    assert inbox()["evt_large"].payload == payload


def test_a_provider_without_a_webhook_secret_answers_503(inbox_app, acme) -> None:
    inbox_app.config["TIERGATE_WHOP_WEBHOOK_SECRET"] = None
    body = json.dumps(whop_event("msg_1", enterprise(acme))).encode()
    response = inbox_app.test_client().post(
        "/webhooks/whop", data=body, headers=whop_headers(body, "msg_1")
    )
    assert response.status_code == 503
    assert response.json == {
        "error": "provider_disabled",
        "message": "Whop webhooks are not configured: set TIERGATE_WHOP_WEBHOOK_SECRET",
        "provider": "whop",
    }
    assert inbox() == {}


def test_a_rotated_secret_still_verifies(inbox_app, acme) -> None:
    inbox_app.config["TIERGATE_STRIPE_WEBHOOK_SECRET"] = f"whsec_new,{STRIPE_SECRET}"
    inbox_app.config["TIERGATE_WHOP_WEBHOOK_SECRET"] = f"ws_new,{WHOP_SECRET}"
    client = inbox_app.test_client()
    assert deliver(client, "stripe", stripe_event("evt_1", pro(acme))).status_code == 200
    assert deliver(client, "whop", whop_event("msg_1", enterprise(acme))).status_code == 200


def test_a_duplicate_is_acknowledged_and_not_applied_again(inbox_app, acme) -> None:
    client = inbox_app.test_client()
    payload = stripe_event("evt_1", pro(acme))
    first = deliver(client, "stripe", payload)
    again = deliver(client, "stripe", payload)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json["duplicate"] is True and again.json["status"] == "processed"
    assert inbox()["evt_1"].attempts == 1
    assert len(subscription_rows()) == 1
    assert len(subscription_audit("evt_1")) == 1


def test_an_older_event_does_not_overwrite_a_newer_state(inbox_app, acme) -> None:
    client = inbox_app.test_client()
    newer = stripe_event("evt_2", pro(acme, status="canceled", at=AT + 60))
    older = stripe_event("evt_1", pro(acme, status="active", at=AT))
    assert deliver(client, "stripe", newer).status_code == 200
    assert deliver(client, "stripe", older).status_code == 200
    assert inbox()["evt_1"].status == "processed"
    assert [r[4] for r in subscription_rows()] == ["canceled"]
    assert subscription_audit("evt_1") == []


def test_an_unknown_event_type_is_stored_as_ignored(inbox_app, acme) -> None:
    payload = stripe_event("evt_x", pro(acme), event_type="customer.tax_id.created")
    response = deliver(inbox_app.test_client(), "stripe", payload)
    assert response.status_code == 200
    assert response.json["status"] == "ignored"
    stored = inbox()["evt_x"]
    assert (stored.status, stored.processed_at is not None) == ("ignored", True)
    assert subscription_rows() == []


def test_an_unknown_price_fails_then_applies_after_the_catalog_is_fixed(
    inbox_app, acme, runner_for
) -> None:
    client = inbox_app.test_client()
    payload = stripe_event("evt_gold", pro(acme), lookup_key="gold_monthly")
    response = deliver(client, "stripe", payload)
    assert response.status_code == 500
    assert response.json["error"] == "webhook_failed"
    assert "no tier has the Stripe price lookup key 'gold_monthly'" in response.json["message"]
    stored = inbox()["evt_gold"]
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert stored.last_error.startswith("unknown_tier: no tier has the Stripe price lookup key")
    assert subscription_rows() == []

    # The provider retries: still failing, counted again.
    assert deliver(client, "stripe", payload).status_code == 500
    assert inbox()["evt_gold"].attempts == 2

    catalog.create_tier("gold", "Gold", billing_provider="stripe", stripe_lookup_key="gold_monthly")
    db.session.commit()
    result = runner_for(inbox_app).invoke(args=["events", "replay", str(stored.id)])
    assert result.exit_code == 0, result.output
    assert "replayed 1: 1 done, 0 still failing" in result.output
    stored = inbox()["evt_gold"]
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 3, None)
    assert [(r[1], r[3]) for r in subscription_rows()] == [("sub_1", "gold")]


def test_an_event_naming_no_account_is_failed_not_dropped(inbox_app, acme) -> None:
    payload = stripe_event("evt_orphan", pro(acme))
    payload["data"]["object"]["metadata"] = {}
    response = deliver(inbox_app.test_client(), "stripe", payload)
    assert response.status_code == 500
    assert inbox()["evt_orphan"].last_error.startswith("unknown_account:")

"""Correctly signed bodies that are not events: 400 with the reason, nothing stored.

And a chunked body over the limit (no Content-Length) is refused as too large, not cut.
"""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask

from .support import inbox, stripe_headers, whop_headers

AT = 1_767_268_800
DEEP = 50_000


def stripe_body(**fields: object) -> bytes:
    event = {"id": "evt_1", "type": "customer.subscription.updated", "created": AT}
    event["data"] = {"object": {"id": "sub_1", "object": "subscription"}}
    event.update(fields)
    return json.dumps(event).encode()


def whop_body(**fields: object) -> bytes:
    event = {"id": "msg_1", "type": "membership.updated", "timestamp": "2026-01-01T12:00:00Z"}
    event["data"] = {"id": "mem_1", "status": "active"}
    event.update(fields)
    return json.dumps(event).encode()


def nested(provider: str) -> bytes:
    body = stripe_body(data="DEEP") if provider == "stripe" else whop_body(data="DEEP")
    return body.replace(b'"DEEP"', b"[" * DEEP + b"]" * DEEP)


#: (provider, case, signed body, what the refusal says)
MALFORMED = [
    ("stripe", "array", b"[]", "body is not a JSON object"),
    ("stripe", "string", b'"evt_1"', "body is not a JSON object"),
    ("stripe", "null", b"null", "body is not a JSON object"),
    ("stripe", "not json", b"{evt", "body is not JSON"),
    ("stripe", "data a string", stripe_body(data="sub_1"), "data is not a JSON object"),
    ("stripe", "data.object a list", stripe_body(data={"object": [1]}), "data.object"),
    ("stripe", "numeric id", stripe_body(id=12), "id must be a non-empty string"),
    ("stripe", "object id", stripe_body(id={"evt": 1}), "id must be a non-empty string"),
    ("stripe", "numeric type", stripe_body(type=3), "type must be a non-empty string"),
    ("stripe", "created as text", stripe_body(created="yesterday"), "created must be"),
    ("stripe", "created huge", stripe_body(created=10**30), "created must be"),
    ("stripe", "created negative", stripe_body(created=-5), "created must be"),
    ("stripe", "created a float", stripe_body(created=1.5), "created must be"),
    ("stripe", "deep nesting", nested("stripe"), "nests deeper than 64 levels"),
    ("stripe", "NUL in id", stripe_body(id="evt_\x00x"), "without NUL"),
    ("stripe", "NUL in type", stripe_body(type="a\x00"), "without NUL"),
    ("stripe", "id too long", stripe_body(id="e" * 256), "at most 255 characters"),
    ("whop", "array", b"[]", "body is not a JSON object"),
    ("whop", "null", b"null", "body is not a JSON object"),
    ("whop", "data a string", whop_body(data="mem_1"), "data is not a JSON object"),
    ("whop", "numeric id", whop_body(id=12), "id must be a non-empty string"),
    ("whop", "timestamp not a date", whop_body(timestamp="soon"), "is not a date"),
    ("whop", "timestamp huge", whop_body(timestamp=10**30), "is not a date"),
    ("whop", "deep nesting", nested("whop"), "nests deeper than 64 levels"),
    ("whop", "NUL in id", whop_body(id="msg_\x00"), "without NUL"),
]


def post_signed(app: Flask, provider: str, body: bytes):
    signed = stripe_headers if provider == "stripe" else whop_headers
    headers = signed(body) if provider == "stripe" else signed(body, "msg_header")
    with app.app_context():
        return app.test_client().post(f"/webhooks/{provider}", data=body, headers=headers)


def assert_refused(app: Flask, provider: str, body: bytes, reason: str) -> None:
    response = post_signed(app, provider, body)
    assert response.status_code == 400, (response.status_code, response.get_data()[:300])
    answer = response.get_json()
    assert answer["error"] == "malformed_webhook_payload"
    assert reason in answer["message"]
    assert inbox() == {}


@pytest.mark.parametrize(
    ("provider", "body", "reason"),
    [case[::2] + case[3:] for case in MALFORMED],
    ids=[f"{case[0]}-{case[1]}" for case in MALFORMED],
)
def test_a_signed_malformed_body_is_refused_and_not_stored(
    inbox_app, provider, body, reason
) -> None:
    assert_refused(inbox_app, provider, body, reason)


def test_signed_malformed_bodies_are_refused_on_postgresql(inbox_backend_app) -> None:
    """Each case on PostgreSQL, where a NUL in a stored text used to fail every delivery."""
    with inbox_backend_app("postgresql") as app:
        for provider, case, body, reason in MALFORMED:
            try:
                assert_refused(app, provider, body, reason)
            except AssertionError as error:
                raise AssertionError(f"{provider} {case}: {error}") from error


def test_a_chunked_body_over_the_limit_is_too_large(inbox_app) -> None:
    body = stripe_body(padding="x" * (1024 * 1024 + 10))
    headers = {**stripe_headers(body), "Transfer-Encoding": "chunked"}
    with inbox_app.app_context():
        response = inbox_app.test_client().post(
            "/webhooks/stripe",
            input_stream=io.BytesIO(body),
            headers=headers,
            # What a server sets for a chunked request: the stream ends where the body does.
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert response.status_code == 413, response.get_data()[:300]
    assert response.get_json()["error"] == "payload_too_large"
    assert inbox() == {}


def test_a_chunked_body_within_the_limit_is_read_whole(inbox_app) -> None:
    body = stripe_body(type="something.else", padding="x" * (512 * 1024))
    headers = {**stripe_headers(body), "Transfer-Encoding": "chunked"}
    with inbox_app.app_context():
        response = inbox_app.test_client().post(
            "/webhooks/stripe",
            input_stream=io.BytesIO(body),
            headers=headers,
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert response.status_code == 200, response.get_data()[:300]
    assert response.get_json()["status"] == "ignored"

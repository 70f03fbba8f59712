"""Bad input on the API: a 4xx in the one error shape, and nothing changed."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from .support import World, assert_error_shape, state_fingerprint

STAFF_CASES = {
    "check: missing permission": ("POST", "/api/v1/accounts/{acme}/check", {}, 422),
    "check: permission not a string": (
        "POST",
        "/api/v1/accounts/{acme}/check",
        {"permission": 123},
        422,
    ),
    "check: unknown field": (
        "POST",
        "/api/v1/accounts/{acme}/check",
        {"permission": "sso", "account": 1},
        422,
    ),
    "check: a list instead of an object": ("POST", "/api/v1/accounts/{acme}/check", [], 422),
    "check: unknown account": ("POST", "/api/v1/accounts/999999/check", {"permission": "sso"}, 404),
    "entitlements: unknown account": ("GET", "/api/v1/accounts/999999/entitlements", None, 404),
    "entitlements: account id not a number": (
        "GET",
        "/api/v1/accounts/acme/entitlements",
        None,
        404,
    ),
    "tier: missing name": ("POST", "/api/v1/tiers", {"key": "gold"}, 422),
    "tier: user_limit a string": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "user_limit": "ten"},
        422,
    ),
    "tier: user_limit zero": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "user_limit": 0},
        422,
    ),
    "tier: trial longer than Stripe allows": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "trial_days": 731},
        422,
    ),
    "tier: per_seat as a number": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "per_seat": 1},
        422,
    ),
    "tier: yearly key without the monthly one": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "stripe_yearly_lookup_key": "gold_yearly"},
        409,
    ),
    "tier: yearly key equal to the monthly one": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "stripe_lookup_key": "g", "stripe_yearly_lookup_key": "g"},
        409,
    ),
    "tier: boolean as a string": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "is_customer_facing": "yes"},
        422,
    ),
    "tier: unknown provider": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "billing_provider": "paypal"},
        422,
    ),
    "tier: stripe without a lookup key": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "billing_provider": "stripe"},
        422,
    ),
    "tier: whop without a product key": (
        "POST",
        "/api/v1/tiers",
        {"key": "gold", "name": "Gold", "billing_provider": "whop", "whop_product_key": None},
        422,
    ),
    "tier: change to stripe and clear its key": (
        "PATCH",
        "/api/v1/tiers/partner",
        {"billing_provider": "stripe", "stripe_lookup_key": None},
        422,
    ),
    # The body is valid on its own; the tier it would leave behind is not (no lookup key).
    "tier: change to stripe without a lookup key": (
        "PATCH",
        "/api/v1/tiers/partner",
        {"billing_provider": "stripe"},
        409,
    ),
    "tier: clear the lookup key of a stripe tier": (
        "PATCH",
        "/api/v1/tiers/pro",
        {"stripe_lookup_key": None},
        409,
    ),
    "tier: key with capitals": ("POST", "/api/v1/tiers", {"key": "Gold", "name": "Gold"}, 422),
    "tier: key taken": ("POST", "/api/v1/tiers", {"key": "pro", "name": "Pro again"}, 409),
    "tier: unknown tier": ("PATCH", "/api/v1/tiers/nope", {"name": "X"}, 404),
    "tier: delete the default tier": ("DELETE", "/api/v1/tiers/free", None, 409),
    "tier: delete a tier in use": ("DELETE", "/api/v1/tiers/team", None, 409),
    "tier: grant an unknown permission": ("PUT", "/api/v1/tiers/pro/permissions/nope", None, 404),
    "permission: key too long": (
        "POST",
        "/api/v1/permissions",
        {"key": "x" * 65, "name": "X"},
        422,
    ),
    "permission: rename onto another": (
        "PATCH",
        "/api/v1/permissions/sso",
        {"key": "audit.read"},
        409,
    ),
    # A well-formed grant that the catalog or the clock rules out: 404 or 409, not 422.
    "grant: unknown tier": (
        "PUT",
        "/api/v1/accounts/{acme}/exempt-grant",
        {"tier": "nope", "reason": "x"},
        404,
    ),
    "grant: a stripe tier": (
        "PUT",
        "/api/v1/accounts/{acme}/exempt-grant",
        {"tier": "pro", "reason": "x"},
        409,
    ),
    "grant: missing reason": (
        "PUT",
        "/api/v1/accounts/{acme}/exempt-grant",
        {"tier": "partner"},
        422,
    ),
    "grant: expiry in the past": (
        "PUT",
        "/api/v1/accounts/{acme}/exempt-grant",
        {"tier": "partner", "reason": "x", "expires_at": "2001-01-01T00:00:00+00:00"},
        409,
    ),
    "grant: expiry without a time zone": (
        "PUT",
        "/api/v1/accounts/{acme}/exempt-grant",
        {"tier": "partner", "reason": "x", "expires_at": "2099-01-01T00:00:00"},
        422,
    ),
    "revoke: no grant to revoke": (
        "DELETE",
        "/api/v1/accounts/{acme}/exempt-grant?reason=x",
        None,
        404,
    ),
    "revoke: missing reason": ("DELETE", "/api/v1/accounts/{acme}/exempt-grant", None, 422),
    "unknown route": ("GET", "/api/v1/nothing-here", None, 404),
    "method not allowed": ("PATCH", "/api/v1/permissions", {"name": "x"}, 405),
}


@pytest.mark.parametrize("case", list(STAFF_CASES))
def test_bad_input_is_refused_and_changes_nothing(case: str, world: World, new_client) -> None:
    method, path, body, status = STAFF_CASES[case]
    client = new_client()
    before = state_fingerprint()
    response = client.open(
        path.format(acme=world.acme.id),
        method=method,
        json=body,
        headers=world.headers("staff_key"),
    )
    body = assert_error_shape(response, status)
    assert state_fingerprint() == before
    if status == 422 and body["error"] == "validation_error" and "fields" in body:
        assert body["fields"], body
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_validation_errors_name_the_field(world: World, new_client) -> None:
    response = new_client().post(
        f"/api/v1/accounts/{world.acme.id}/check",
        json={"permission": 5},
        headers=world.headers("account_key"),
    )
    body = assert_error_shape(response, 422, "validation_error")
    assert list(body["fields"]) == ["permission"]
    assert "permission" in body["message"]


def test_an_unknown_permission_is_a_denial_with_its_reason(world: World, new_client) -> None:
    # As @require_permission and check() answer it: a denial, not an input error (I6).
    response = new_client().post(
        f"/api/v1/accounts/{world.acme.id}/check",
        json={"permission": "reports.exprot"},
        headers=world.headers("account_key"),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["allowed"] is False
    assert body["reason"] == "unknown_permission"
    assert body["permission"] == "reports.exprot"
    assert body["upgrade_to"] == []


def test_refused_grants_name_the_problem(world: World, new_client) -> None:
    client, headers = new_client(), world.headers("staff_key")
    path = f"/api/v1/accounts/{world.acme.id}/exempt-grant"
    body = assert_error_shape(
        client.put(path, json={"tier": "nope", "reason": "x"}, headers=headers), 404, "not_found"
    )
    assert "'nope'" in body["message"]
    body = assert_error_shape(
        client.put(path, json={"tier": "pro", "reason": "x"}, headers=headers), 409, "conflict"
    )
    assert "'pro'" in body["message"] and "stripe" in body["message"]
    past = {"tier": "partner", "reason": "x", "expires_at": "2001-01-01T00:00:00+00:00"}
    body = assert_error_shape(client.put(path, json=past, headers=headers), 409, "conflict")
    assert "not in the future" in body["message"]


def test_a_tier_change_that_clashes_with_the_tier_names_the_rule(world: World, new_client) -> None:
    response = new_client().patch(
        "/api/v1/tiers/partner",
        json={"billing_provider": "whop"},
        headers=world.headers("staff_key"),
    )
    body = assert_error_shape(response, 409, "conflict")
    assert "whop_product_key" in body["message"]


def test_an_oversized_body_gets_413(world: World, new_client) -> None:
    before = state_fingerprint()
    payload = json.dumps({"key": "big", "name": "Big", "description": "x" * 2_000_000})
    response = new_client().post(
        "/api/v1/tiers",
        data=payload,
        content_type="application/json",
        headers=world.headers("staff_key"),
    )
    assert_error_shape(response, 413, "payload_too_large")
    assert state_fingerprint() == before
    assert (
        db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == "big")) is None
    )


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("permission=sso", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("{not json", "application/json", 400, "bad_request"),
        ("sso", "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_is_not_json_is_refused(
    world: World, new_client, data: str, content_type: str, status: int, code: str
) -> None:
    response = new_client().post(
        f"/api/v1/accounts/{world.acme.id}/check",
        data=data,
        content_type=content_type,
        headers=world.headers("account_key"),
    )
    assert_error_shape(response, status, code)


def test_a_session_needs_its_csrf_token_for_unsafe_api_calls(world: World, new_client) -> None:
    from ..browsing import log_in

    client = new_client()
    log_in(client, world.users["staff"])
    before = state_fingerprint()
    response = client.post("/api/v1/permissions", json={"key": "forged", "name": "Forged"})
    assert_error_shape(response, 400, "csrf_failed")
    assert state_fingerprint() == before


def test_a_refused_grant_leaves_the_subscriptions_alone(world: World, new_client) -> None:
    count = db.session.scalar(sa.select(sa.func.count(Subscription.id)))
    response = new_client().put(
        f"/api/v1/accounts/{world.acme.id}/exempt-grant",
        json={"tier": "enterprise", "reason": "x"},
        headers=world.headers("staff_key"),
    )
    assert_error_shape(response, 409, "conflict")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == count

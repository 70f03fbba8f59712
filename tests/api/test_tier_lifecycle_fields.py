"""The tier API carries the yearly keys, trial days, per-seat and add-on flags both ways."""

from __future__ import annotations

from .support import World, assert_error_shape


def test_a_tier_with_lifecycle_fields_is_created_shown_and_changed(
    world: World, new_client
) -> None:
    client = new_client()
    headers = world.headers("staff_key")
    body = {
        "key": "gold",
        "name": "Gold",
        "billing_provider": "stripe",
        "stripe_lookup_key": "gold_monthly",
        "stripe_yearly_lookup_key": "gold_yearly",
        "trial_days": 14,
        "per_seat": True,
    }
    created = client.post("/api/v1/tiers", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    shown = client.get("/api/v1/tiers/gold", headers=headers).get_json()
    assert {name: shown[name] for name in body} == body
    assert (shown["whop_yearly_product_key"], shown["is_addon"]) == (None, False)

    changed = client.patch(
        "/api/v1/tiers/gold", json={"trial_days": 0, "is_addon": True}, headers=headers
    )
    assert changed.status_code == 200
    assert (changed.get_json()["trial_days"], changed.get_json()["is_addon"]) == (0, True)


def test_a_yearly_key_taken_as_another_tiers_monthly_key_is_a_conflict(
    world: World, new_client
) -> None:
    client = new_client()
    headers = world.headers("staff_key")
    first = {"key": "gold", "name": "Gold", "stripe_lookup_key": "gold_monthly"}
    assert client.post("/api/v1/tiers", json=first, headers=headers).status_code == 201
    second = {
        "key": "silver",
        "name": "Silver",
        "stripe_lookup_key": "silver_monthly",
        "stripe_yearly_lookup_key": "gold_monthly",
    }
    response = client.post("/api/v1/tiers", json=second, headers=headers)
    error = assert_error_shape(response, 409)
    assert "already used by tier 'gold' as its stripe_lookup_key" in error["message"]


def test_the_default_tier_cannot_become_an_add_on(world: World, new_client) -> None:
    client = new_client()
    headers = world.headers("staff_key")
    response = client.patch("/api/v1/tiers/free", json={"is_addon": True}, headers=headers)
    error = assert_error_shape(response, 409)
    assert error["message"] == (
        "tier 'free' is an add-on (is_addon): an add-on cannot be the default tier"
    )
    shown = client.get("/api/v1/tiers/free", headers=headers).get_json()
    assert (shown["is_default"], shown["is_addon"]) == (True, False)

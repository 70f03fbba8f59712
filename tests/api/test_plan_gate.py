"""An account's keys work while its plan includes the API, and are refused after a downgrade."""

from __future__ import annotations

from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db

from ..accounts.factories import API_PERMISSION
from .support import World, assert_error_shape, client_for


def drop_api(*tiers: str) -> None:
    """Take the API out of ``tiers`` (what an operator's catalog change does); commit."""
    db.session.rollback()
    begin_write_transaction()
    for tier in tiers:
        catalog.revoke_permission(tier, API_PERMISSION)
    db.session.commit()


def test_a_key_is_refused_once_the_plan_drops_the_api(world: World, client) -> None:
    path = f"/api/v1/accounts/{world.acme.id}/entitlements"
    headers = world.headers("account_key")
    assert client.get(path, headers=headers).status_code == 200
    drop_api("team")  # acme's Team no longer sells the API
    refused = assert_error_shape(client.get(path, headers=headers), 403, "api_not_in_plan")
    assert (
        refused["message"] == "the plan of Acme does not include the API; it comes with Enterprise"
    )
    assert refused["upgrade_to"] == ["enterprise"] and refused["permission"] == API_PERMISSION
    # Public routes too: the key itself is refused, not one operation.
    assert_error_shape(client.get("/api/v1/tiers", headers=headers), 403, "api_not_in_plan")


def test_staff_keys_and_sessions_do_not_need_the_plan(world: World, new_client) -> None:
    drop_api("team", "free")
    path = f"/api/v1/accounts/{world.acme.id}/entitlements"
    assert new_client().get(path, headers=world.headers("staff_key")).status_code == 200
    other = assert_error_shape(
        new_client().get(
            f"/api/v1/accounts/{world.other.id}/entitlements",
            headers=world.headers("other_key"),
        ),
        403,
        "api_not_in_plan",
    )
    assert (
        other["message"] == "the plan of Other does not include the API; it comes with Enterprise"
    )
    # A signed-in member reads through the browser session, as on the pages.
    browser = new_client()
    headers = client_for(world, browser, "member")
    assert browser.get(path, headers=headers).status_code == 200

"""GET /api/v1/accounts/{id}/usage and POST /api/v1/accounts/{id}/track over HTTP."""

from __future__ import annotations

from tiergate.db import db
from tiergate.limits import check

from ..api.support import build_world
from ..conftest import http_client
from .support import add_limits


def _world(app):
    world = build_world()
    add_limits()
    return world, http_client(app), world.other.id, world.headers("other_key")  # other: free


def test_track_counts_and_usage_reports_it(app):
    _, client, account_id, headers = _world(app)
    tracked = client.post(
        f"/api/v1/accounts/{account_id}/track",
        json={"permission": "api.calls", "amount": 30},
        headers=headers,
    )
    assert tracked.status_code == 200, tracked.get_json()
    rows = {row["permission"]: row for row in tracked.get_json()["limits"]}
    assert (rows["api.calls"]["used"], rows["api.calls"]["limit"]) == (30, 100)
    usage = client.get(f"/api/v1/accounts/{account_id}/usage", headers=headers).get_json()
    assert {row["permission"]: row["used"] for row in usage["limits"]}["api.calls"] == 30
    db.session.rollback()
    assert check(account_id, "api.calls", amount=0).used == 30


def test_track_refusals_name_the_problem_and_change_nothing(app):
    _, client, account_id, headers = _world(app)
    url = f"/api/v1/accounts/{account_id}/track"
    over = client.post(url, json={"permission": "api.calls", "amount": 101}, headers=headers)
    assert over.status_code == 409 and over.get_json()["error"] == "limit_reached"
    assert over.get_json()["upgrade_to"] == ["pro", "team"]
    allocation = client.post(url, json={"permission": "projects"}, headers=headers)
    assert allocation.status_code == 409 and "not a metered one" in allocation.get_json()["message"]
    unknown = client.post(url, json={"permission": "nope"}, headers=headers)
    assert unknown.status_code == 404
    zero = client.post(url, json={"permission": "api.calls", "amount": 0}, headers=headers)
    assert zero.status_code == 422
    db.session.rollback()
    assert check(account_id, "api.calls", amount=0).used == 0

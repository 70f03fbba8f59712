"""The authorization matrix: every route of accounts, entitlements and the API, every caller.

Each route is called by each principal (anonymous, member, admin, owner, the owner of another
account, staff, an account key, another account's key, a staff key, a revoked key) in a fresh
client; the status is the expected one, errors have the one shape, and a refused request
changes nothing (no cross-account read or write).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tiergate.accounts.seats import invite_member
from tiergate.audit.services import Actor
from tiergate.billing.services import grant_exempt_tier
from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db

from ..browsing import csrf_token_of
from .support import (
    PRINCIPALS,
    SESSION_PRINCIPALS,
    World,
    assert_error_shape,
    client_for,
    state_fingerprint,
)

SYSTEM = Actor.system("tests")
ALL_OK = dict.fromkeys(PRINCIPALS, 200)
PUBLIC = {**ALL_OK, "revoked_key": 401}
ACME = {
    "anonymous": 401,
    "member": 200,
    "admin": 200,
    "owner": 200,
    "other_owner": 404,
    "staff": 200,
    "account_key": 200,
    "other_key": 404,
    "staff_key": 200,
    "revoked_key": 401,
}
OTHER = {
    **ACME,
    "member": 404,
    "admin": 404,
    "owner": 404,
    "other_owner": 200,
    "account_key": 404,
    "other_key": 200,
}
HIDDEN_TIER = {**dict.fromkeys(PRINCIPALS, 404), "staff": 200, "staff_key": 200, "revoked_key": 401}
HTML_ANONYMOUS_ONLY = {**ALL_OK, **dict.fromkeys(SESSION_PRINCIPALS, 302)}


def staff_only(ok: int) -> dict[str, int]:
    """Staff users and staff keys succeed; other callers get 403, no credentials 401."""
    return {
        **dict.fromkeys(PRINCIPALS, 403),
        "anonymous": 401,
        "revoked_key": 401,
        "staff": ok,
        "staff_key": ok,
    }


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {acme}, {other}: account ids; {i}: the caller's own resources; {token}
    expect: dict[str, int]
    body: Callable[[int], Any] | None = None
    #: Puts back what a previous caller's successful request used up.
    prepare: Callable[[World], None] | None = None


def _grant_partner(world: World) -> None:
    begin_write_transaction()
    grant_exempt_tier(world.acme, "partner", actor=SYSTEM, reason="matrix")
    db.session.commit()


ROUTES = {
    "list tiers": Route("GET", "/api/v1/tiers", PUBLIC),
    "get tier": Route("GET", "/api/v1/tiers/pro", PUBLIC),
    "get hidden tier": Route("GET", "/api/v1/tiers/staff", HIDDEN_TIER),
    "entitlements": Route("GET", "/api/v1/accounts/{acme}/entitlements", ACME),
    "check": Route("POST", "/api/v1/accounts/{acme}/check", ACME, lambda i: {"permission": "sso"}),
    "other's entitlements": Route("GET", "/api/v1/accounts/{other}/entitlements", OTHER),
    "other's check": Route(
        "POST", "/api/v1/accounts/{other}/check", OTHER, lambda i: {"permission": "sso"}
    ),
    "create tier": Route(
        "POST", "/api/v1/tiers", staff_only(201), lambda i: {"key": f"new{i}", "name": "New"}
    ),
    "update tier": Route("PATCH", "/api/v1/tiers/t{i}", staff_only(200), lambda i: {"rank": 7}),
    "delete tier": Route("DELETE", "/api/v1/tiers/t{i}", staff_only(204)),
    "grant permission": Route("PUT", "/api/v1/tiers/t{i}/permissions/audit.read", staff_only(200)),
    "revoke permission": Route("DELETE", "/api/v1/tiers/t{i}/permissions/sso", staff_only(200)),
    "list permissions": Route("GET", "/api/v1/permissions", staff_only(200)),
    "create permission": Route(
        "POST", "/api/v1/permissions", staff_only(201), lambda i: {"key": f"n{i}", "name": "N"}
    ),
    "update permission": Route(
        "PATCH", "/api/v1/permissions/p{i}", staff_only(200), lambda i: {"name": "Q"}
    ),
    "delete permission": Route("DELETE", "/api/v1/permissions/p{i}", staff_only(204)),
    "grant exempt": Route(
        "PUT",
        "/api/v1/accounts/{acme}/exempt-grant",
        staff_only(200),
        lambda i: {"tier": "partner", "reason": "matrix"},
    ),
    "grant exempt to other": Route(
        "PUT",
        "/api/v1/accounts/{other}/exempt-grant",
        staff_only(200),
        lambda i: {"tier": "partner", "reason": "matrix"},
    ),
    "revoke exempt": Route(
        "DELETE",
        "/api/v1/accounts/{acme}/exempt-grant?reason=matrix",
        staff_only(200),
        prepare=_grant_partner,
    ),
    "openapi document": Route("GET", "/api/v1/openapi.json", ALL_OK),
    "docs page": Route("GET", "/api/v1/docs", ALL_OK),
    "sign-up page": Route("GET", "/signup", HTML_ANONYMOUS_ONLY),
    "log-in page": Route("GET", "/login", HTML_ANONYMOUS_ONLY),
    "log out": Route("POST", "/logout", dict.fromkeys(PRINCIPALS, 302)),
    "invitation page": Route("GET", "/invitations/{token}", ALL_OK),
}


def _own_resources() -> None:
    """Tiers t0.. and permissions p0..: one each per caller, so each write has a target."""
    for index in range(len(PRINCIPALS)):
        catalog.create_permission(f"p{index}", f"P{index}")
        catalog.create_tier(f"t{index}", f"T{index}", rank=40 + index)
        catalog.grant_permission(f"t{index}", "sso")
    db.session.commit()


def _invitation_token(world: World) -> str:
    begin_write_transaction()
    _, token = invite_member(world.acme, "guest@example.test", actor=SYSTEM)
    db.session.commit()
    return token


def _call(client: Any, route: Route, world: World, index: int, token: str, headers: dict) -> Any:
    path = route.path.format(acme=world.acme.id, other=world.other.id, i=index, token=token)
    body = route.body(index) if route.body else None
    return client.open(path, method=route.method, json=body, headers=headers)


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_caller_gets_the_expected_status(name: str, world: World, new_client) -> None:
    route = ROUTES[name]
    _own_resources()
    token = _invitation_token(world)
    for index, principal in enumerate(PRINCIPALS):
        if route.prepare:
            route.prepare(world)
        client = new_client()
        headers = client_for(world, client, principal)
        if route.method == "POST" and "X-CSRFToken" not in headers:
            headers = {**headers, "X-CSRFToken": csrf_token_of(client)}
        before = state_fingerprint()
        response = _call(client, route, world, index, token, headers)
        expected = route.expect[principal]
        assert response.status_code == expected, (principal, response.get_data(as_text=True))
        if expected >= 400:
            assert state_fingerprint() == before, f"{principal}'s refused request changed data"
            if route.path.startswith("/api/"):
                assert_error_shape(response, expected)
        elif route.method == "GET":
            assert state_fingerprint() == before, f"{principal}'s read changed data"


def test_a_refused_caller_learns_nothing_about_the_other_account(world: World, new_client):
    client = new_client()
    headers = client_for(world, client, "owner")
    missing = client.get("/api/v1/accounts/999999/entitlements", headers=headers)
    foreign = client.get(f"/api/v1/accounts/{world.other.id}/entitlements", headers=headers)
    assert missing.status_code == foreign.status_code == 404
    # The same answer as for an id that does not exist, apart from the id itself.
    assert missing.get_json() == {
        key: value.replace(str(world.other.id), "999999") if isinstance(value, str) else value
        for key, value in foreign.get_json().items()
    }

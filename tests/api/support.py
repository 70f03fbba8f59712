"""A small world for the HTTP tests: accounts, people in every role, API keys; and helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from tiergate.accounts.apikeys import create_api_key, revoke_api_key
from tiergate.accounts.models import Account, Membership
from tiergate.accounts.services import create_account
from tiergate.audit.models import AuditEvent
from tiergate.catalog.models import Permission, SubscriptionTier
from tiergate.db import db
from tiergate.standalone.users import User

from ..accounts.factories import SYSTEM, allow_api, make_catalog, make_user, subscribe
from ..browsing import csrf_token_of, log_in

#: Every kind of caller the authorization matrix tries.
PRINCIPALS = (
    "anonymous",
    "member",
    "admin",
    "owner",
    "other_owner",
    "staff",
    "account_key",
    "other_key",
    "staff_key",
    "revoked_key",
)
SESSION_PRINCIPALS = ("member", "admin", "owner", "other_owner", "staff")
KEY_PRINCIPALS = ("account_key", "other_key", "staff_key", "revoked_key")


@dataclass
class World:
    """Two accounts (acme on team, other on free), their people, and keys."""

    acme: Account
    other: Account
    users: dict[str, User]
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, principal: str) -> dict[str, str]:
        """The Authorization header a key principal sends (none for the others)."""
        if principal in self.keys:
            return {"Authorization": f"Bearer {self.keys[principal]}"}
        return {}


def _user(email: str, *, staff: bool = False) -> User:
    # No password: hashing one costs time and the matrix logs in through the session.
    return make_user(email, staff=staff, password=None, display_name=email.split("@")[0])


def build_world() -> World:
    """Create the catalog, two accounts and every principal; commit."""
    make_catalog()
    # The matrix is about who may see what: both accounts' plans include the API.
    allow_api("free", "team", "enterprise")
    users = {name: _user(f"{name}@example.test") for name in ("owner", "admin", "member")}
    users["other_owner"] = _user("boss@other.test")
    users["staff"] = _user("staff@tiergate.test", staff=True)
    acme = create_account("Acme", slug="acme", owner=users["owner"], actor=SYSTEM)
    other = create_account("Other", slug="other", owner=users["other_owner"], actor=SYSTEM)
    for role in ("admin", "member"):
        db.session.add(Membership(account=acme, user_id=users[role].id, role=role))
    db.session.commit()
    subscribe(acme, "team")  # 10 seats: owner, admin, member and room for invitations
    world = World(acme=acme, other=other, users=users)
    _, world.keys["account_key"] = create_api_key("acme key", account=acme, actor=SYSTEM)
    _, world.keys["other_key"] = create_api_key("other key", account=other, actor=SYSTEM)
    _, world.keys["staff_key"] = create_api_key("staff key", account=None, actor=SYSTEM)
    revoked, world.keys["revoked_key"] = create_api_key("old", account=None, actor=SYSTEM)
    revoke_api_key(revoked, actor=SYSTEM)
    db.session.commit()
    return world


def client_for(world: World, client: FlaskClient, principal: str) -> dict[str, str]:
    """Prepare ``client`` as ``principal``; return the headers its requests carry."""
    if principal in SESSION_PRINCIPALS:
        log_in(client, world.users[principal])
        # A logged-in browser's page carries the token in the log-out form.
        return {"X-CSRFToken": csrf_token_of(client, "/pricing")}
    return world.headers(principal)


def assert_error_shape(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Check an error response: the status, JSON, and ``{"error", "message", ...}``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body
    if code is not None:
        assert body["error"] == code, body
    return dict(body)


def state_fingerprint() -> tuple[Any, ...]:
    """Everything a request could change: audit events, catalog, accounts' versions."""
    db.session.rollback()  # end this session's snapshot: read what the requests committed
    return (
        db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
        db.session.scalar(sa.select(sa.func.count(SubscriptionTier.id))),
        db.session.scalar(sa.select(sa.func.count(Permission.id))),
        tuple(db.session.scalars(sa.select(Account.entitlements_version).order_by(Account.id))),
        tuple(
            (t.key, t.name, t.user_limit, tuple(p.key for p in t.permissions))
            for t in db.session.scalars(sa.select(SubscriptionTier).order_by(SubscriptionTier.key))
        ),
    )

"""The catalog in the API: the public tier list, and staff-only tier and permission CRUD."""

from __future__ import annotations

from typing import Any

from flask import abort

from ..audit.listeners import acting_as
from ..catalog import services as catalog
from ..catalog.models import Permission, SubscriptionTier
from ..db import request_transaction
from ..errors import Conflict, NotFound, ValidationError
from .access import BEARER, OPTIONAL_BEARER, ApiBlueprint, caller, documented, staff
from .schemas import (
    PermissionCreateSchema,
    PermissionFieldsSchema,
    PermissionSchema,
    TierCreateSchema,
    TierFieldsSchema,
    TierSchema,
    key_parameter,
)

#: The path parameters, documented with the rules of the keys they name.
TIER_KEY = [key_parameter("key", SubscriptionTier)]
PERMISSION_KEY = [key_parameter("key", Permission)]
TIER_AND_PERMISSION = [*TIER_KEY, key_parameter("permission", Permission)]

tiers_api = ApiBlueprint(
    "api_tiers",
    __name__,
    url_prefix="/api/v1/tiers",
    description="Subscription tiers: public catalog; changes are for staff.",
)
permissions_api = ApiBlueprint(
    "api_permissions",
    __name__,
    url_prefix="/api/v1/permissions",
    description="Permissions (staff only).",
)


def _visible_tier(key: str) -> SubscriptionTier:
    """Return a tier the caller may see: customer-facing ones, or any for staff; else 404."""
    principal = caller()
    try:
        tier = catalog.get_tier(key)
    except NotFound:
        tier = None
    if tier is None or not (tier.is_customer_facing or principal.is_staff):
        abort(404, description=f"no tier with key {key!r}")
    return tier


def _tier(tier: SubscriptionTier) -> dict[str, Any]:
    return TierSchema.dump_tier(tier)


@tiers_api.get("")
@tiers_api.response(200, TierSchema(many=True))
@documented(tiers_api, security=OPTIONAL_BEARER)
def list_tiers() -> list[dict[str, Any]]:
    """List the customer-facing tiers in rank order (staff: every tier).

    Public: no key needed.
    """
    principal = caller()
    tiers = catalog.list_tiers()
    return [_tier(t) for t in tiers if t.is_customer_facing or principal.is_staff]


@tiers_api.post("")
@tiers_api.arguments(TierCreateSchema)
@tiers_api.response(201, TierSchema)
@documented(
    tiers_api,
    403,
    409,
    422,
    security=BEARER,
    descriptions={
        409: "Conflicts with the catalog: a key already taken (a yearly key may repeat no "
        "tier's primary key), or fields that clash with each other (a yearly key without "
        "the primary key, or equal to it).",
    },
)
def create_tier(body: dict[str, Any]) -> dict[str, Any]:
    """Create a tier (staff only)."""
    principal = staff()
    try:
        with request_transaction(), acting_as(principal.actor):
            tier = catalog.create_tier(body.pop("key"), body.pop("name"), **body)
    except ValidationError as refusal:
        # The body passed its schema: what the catalog still refuses is a clash between its
        # fields that JSON Schema cannot state (a yearly key equal to the primary one).
        raise Conflict(refusal.message, **refusal.details) from None
    return _tier(tier)


@tiers_api.get("/<key>", parameters=TIER_KEY)
@tiers_api.response(200, TierSchema)
@documented(tiers_api, 404, security=OPTIONAL_BEARER)
def get_tier(key: str) -> dict[str, Any]:
    """Show one tier with its permissions. Public for customer-facing tiers."""
    return _tier(_visible_tier(key))


@tiers_api.patch("/<key>", parameters=TIER_KEY)
@tiers_api.arguments(TierFieldsSchema)
@tiers_api.response(200, TierSchema)
@documented(
    tiers_api,
    403,
    404,
    409,
    422,
    security=BEARER,
    descriptions={
        409: "Conflicts with the current state: a key already taken, or changes that clash "
        "with the tier's other fields (a stripe tier without a stripe_lookup_key, a yearly "
        "key without the primary key or equal to it, the default tier made an add-on).",
    },
)
def update_tier(body: dict[str, Any], key: str) -> dict[str, Any]:
    """Change some of a tier's fields (staff only)."""
    principal = staff()
    try:
        with request_transaction(), acting_as(principal.actor):
            tier = catalog.update_tier(key, **body)
    except ValidationError as refusal:
        # The body passed its schema, its own rules across fields included: what the catalog
        # still refuses is the tier these changes would leave behind, a clash with its state.
        raise Conflict(refusal.message, **refusal.details) from None
    return _tier(tier)


@tiers_api.delete("/<key>", parameters=TIER_KEY)
@tiers_api.response(204)
@documented(tiers_api, 403, 404, 409, security=BEARER)
def delete_tier(key: str) -> None:
    """Delete a tier (staff only; not the default tier, nor one with subscriptions)."""
    principal = staff()
    with request_transaction(), acting_as(principal.actor):
        catalog.delete_tier(key)


@tiers_api.put("/<key>/permissions/<permission>", parameters=TIER_AND_PERMISSION)
@tiers_api.response(200, TierSchema)
@documented(tiers_api, 403, 404, security=BEARER)
def grant_permission(key: str, permission: str) -> dict[str, Any]:
    """Let a tier grant a permission (staff only); granting it twice changes nothing."""
    principal = staff()
    with request_transaction(), acting_as(principal.actor):
        catalog.grant_permission(key, permission)
    return _tier(catalog.get_tier(key))


@tiers_api.delete("/<key>/permissions/<permission>", parameters=TIER_AND_PERMISSION)
@tiers_api.response(200, TierSchema)
@documented(tiers_api, 403, 404, security=BEARER)
def revoke_permission(key: str, permission: str) -> dict[str, Any]:
    """Stop a tier granting a permission (staff only)."""
    principal = staff()
    with request_transaction(), acting_as(principal.actor):
        catalog.revoke_permission(key, permission)
    return _tier(catalog.get_tier(key))


def _permission(permission: Permission) -> dict[str, Any]:
    return {"key": permission.key, "name": permission.name, "description": permission.description}


@permissions_api.get("")
@permissions_api.response(200, PermissionSchema(many=True))
@documented(permissions_api, 403, security=BEARER)
def list_permissions() -> list[dict[str, Any]]:
    """List every permission by key (staff only)."""
    staff()
    return [_permission(p) for p in catalog.list_permissions()]


@permissions_api.post("")
@permissions_api.arguments(PermissionCreateSchema)
@permissions_api.response(201, PermissionSchema)
@documented(permissions_api, 403, 409, 422, security=BEARER)
def create_permission(body: dict[str, Any]) -> dict[str, Any]:
    """Create a permission (staff only)."""
    principal = staff()
    with request_transaction(), acting_as(principal.actor):
        permission = catalog.create_permission(body["key"], body["name"], body.get("description"))
    return _permission(permission)


@permissions_api.patch("/<key>", parameters=PERMISSION_KEY)
@permissions_api.arguments(PermissionFieldsSchema)
@permissions_api.response(200, PermissionSchema)
@documented(permissions_api, 403, 404, 409, 422, security=BEARER)
def update_permission(body: dict[str, Any], key: str) -> dict[str, Any]:
    """Change a permission's key, name or description (staff only)."""
    principal = staff()
    with request_transaction(), acting_as(principal.actor):
        permission = catalog.update_permission(key, **body)
    return _permission(permission)


@permissions_api.delete("/<key>", parameters=PERMISSION_KEY)
@permissions_api.response(204)
@documented(permissions_api, 403, 404, security=BEARER)
def delete_permission(key: str) -> None:
    """Delete a permission; the tiers that granted it stop granting it (staff only)."""
    principal = staff()
    with request_transaction(), acting_as(principal.actor):
        catalog.delete_permission(key)

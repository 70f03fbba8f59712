"""Accounts in the API: entitlements, permission checks, staff exempt grants."""

from __future__ import annotations

from typing import Any

from ..billing.services import ApplyResult, grant_exempt_tier, revoke_exempt_tier
from ..catalog.models import SubscriptionTier
from ..db import db, request_transaction
from ..entitlements.check import UNKNOWN_PERMISSION
from ..entitlements.services import check, entitlements_for
from ..errors import ValidationError
from .access import BEARER, ApiBlueprint, account_for, documented, read_only, staff
from .schemas import (
    CheckRequestSchema,
    CheckResultSchema,
    EntitlementsSchema,
    GrantRequestSchema,
    GrantResultSchema,
    RevokeQuerySchema,
)

accounts_api = ApiBlueprint(
    "api_accounts",
    __name__,
    url_prefix="/api/v1/accounts",
    description="An account's entitlements and permission checks; staff exempt grants.",
)


@accounts_api.get("/<int(max=2147483647):account_id>/entitlements")
@accounts_api.response(200, EntitlementsSchema)
@documented(accounts_api, 404, security=BEARER)
def get_entitlements(account_id: int) -> dict[str, Any]:
    """Show an account's effective tier, permissions, status and seats.

    Members of the account, its account keys, and staff may read it.
    """
    _, account = account_for(account_id)
    return entitlements_for(account).to_dict()


@accounts_api.post("/<int(max=2147483647):account_id>/check")
@accounts_api.arguments(CheckRequestSchema)
@accounts_api.response(200, CheckResultSchema)
@documented(accounts_api, 404, 422, security=BEARER)
@read_only
def check_permission(body: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Decide whether the account may use a permission, with the reason for a denial.

    A permission the catalog does not know is refused with 422 (`unknown_permission`).
    """
    _, account = account_for(account_id)
    result = check(account, body["permission"])
    if result.reason == UNKNOWN_PERMISSION:
        raise UnknownPermission(
            f"no permission {body['permission']!r} in the catalog",
            field="permission",
        )
    return result.to_dict()


class UnknownPermission(ValidationError):
    code = UNKNOWN_PERMISSION


def _grant_result(result: ApplyResult) -> dict[str, Any]:
    subscription = result.subscription
    tier = db.session.get_one(SubscriptionTier, subscription.tier_id)
    return {
        "outcome": result.outcome.value,
        "subscription": {
            "id": subscription.id,
            "provider": subscription.provider,
            "provider_subscription_id": subscription.provider_subscription_id,
            "tier": tier.key,
            "status": subscription.status,
            "grant_reason": subscription.grant_reason,
            "grant_expires_at": subscription.grant_expires_at,
        },
    }


@accounts_api.put("/<int(max=2147483647):account_id>/exempt-grant")
@accounts_api.arguments(GrantRequestSchema)
@accounts_api.response(200, GrantResultSchema)
@documented(accounts_api, 403, 404, 422, security=BEARER)
def grant(body: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Give the account an exempt tier (staff only); it replaces a previous exempt grant."""
    principal = staff()
    _, account = account_for(account_id)
    with request_transaction():
        result = grant_exempt_tier(
            account,
            body["tier"],
            actor=principal.actor,
            reason=body["reason"],
            expires_at=body.get("expires_at"),
        )
        response = _grant_result(result)  # read before the commit expires the subscription
    response["entitlements"] = entitlements_for(account_id).to_dict()
    return response


@accounts_api.delete("/<int(max=2147483647):account_id>/exempt-grant")
@accounts_api.arguments(RevokeQuerySchema, location="query")
@accounts_api.response(200, GrantResultSchema)
@documented(accounts_api, 403, 404, 422, security=BEARER)
def revoke(query: dict[str, Any], account_id: int) -> dict[str, Any]:
    """End the account's exempt grant now (staff only)."""
    principal = staff()
    _, account = account_for(account_id)
    with request_transaction():
        result = revoke_exempt_tier(account, actor=principal.actor, reason=query["reason"])
        response = _grant_result(result)
    response["entitlements"] = entitlements_for(account_id).to_dict()
    return response

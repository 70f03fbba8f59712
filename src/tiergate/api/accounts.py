"""Accounts in the API: entitlements, permission checks, staff exempt grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..billing.services import (
    ApplyResult,
    exempt_grant_problem,
    grant_exempt_tier,
    revoke_exempt_tier,
)
from ..catalog.models import SubscriptionTier
from ..catalog.services import get_tier
from ..db import db, request_transaction, utcnow
from ..entitlements.services import check, entitlements_for, get_cache
from ..errors import Conflict, NotFound
from ..limits.schemas import TrackRequestSchema, UsageSchema
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

    A permission the catalog does not know is denied, as `@require_permission` denies it:
    200 with `allowed: false` and `reason: "unknown_permission"`.
    """
    _, account = account_for(account_id)
    return check(account, body["permission"]).to_dict()


@accounts_api.get("/<int(max=2147483647):account_id>/usage")
@accounts_api.response(200, UsageSchema)
@documented(accounts_api, 404, security=BEARER)
def get_usage(account_id: int) -> dict[str, Any]:
    """Show each limit of the account's tier with what is used and what remains.

    Members of the account, its account keys, and staff may read it.
    """
    _, account = account_for(account_id)
    return _usage(account.id)


def _usage(account_id: int) -> dict[str, Any]:
    from ..limits import usage

    rows = [row.to_dict() for row in usage(account_id)]
    return {"account_id": account_id, "tier": entitlements_for(account_id).tier_key, "limits": rows}


@accounts_api.post("/<int(max=2147483647):account_id>/track")
@accounts_api.arguments(TrackRequestSchema)
@accounts_api.response(200, UsageSchema)
@documented(
    accounts_api,
    403,
    404,
    409,
    422,
    security=BEARER,
    descriptions={
        403: "The account's tier does not grant the permission (`reason` says why).",
        404: "No such account (or one the caller may not see), or no such permission.",
        409: "The permission is not metered, or the uses do not fit the tier's limit "
        "(`limit_reached`, with `upgrade_to`).",
    },
)
def track_usage(body: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Count uses of a metered permission for the account; answer with its usage after."""
    from ..limits import track

    _, account = account_for(account_id)
    _refuse_unmetered(body["permission"])
    with request_transaction():
        track(account.id, body["permission"], body["amount"])
    return _usage(account_id)


def _refuse_unmetered(permission: str) -> None:
    """Refuse, before anything is written, a permission that is unknown (404) or not metered."""
    catalog = get_cache().catalog()
    if permission not in catalog.permission_keys:
        raise NotFound(f"no permission {permission!r}", field="permission")
    limited = catalog.limited.get(permission)
    if limited is None or limited.kind != "metered":
        kind = limited.kind if limited else "feature"
        raise Conflict(
            f"{permission!r} is a {kind} permission, not a metered one", field="permission"
        )


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


def _refuse_grant(tier_key: str, expires_at: datetime | None, now: datetime) -> None:
    """Refuse a well-formed grant that the catalog or the clock rules out: 404 or 409.

    The body already passed its schema; what is left is about existing state, so the answer
    is the one HTTP has for it, not 422: no such tier (404), a tier that is sold rather than
    exempt, or an expiry already past (409).
    """
    tier = get_tier(tier_key)
    problem = exempt_grant_problem(tier)
    if problem:
        raise Conflict(f"cannot grant {tier_key!r}: {problem}", field="tier")
    if expires_at is not None and expires_at <= now:
        raise Conflict(
            f"the grant would expire at {expires_at.isoformat()}, which is not in the future",
            field="expires_at",
        )


@accounts_api.put("/<int(max=2147483647):account_id>/exempt-grant")
@accounts_api.arguments(GrantRequestSchema)
@accounts_api.response(200, GrantResultSchema)
@documented(
    accounts_api,
    403,
    404,
    409,
    422,
    security=BEARER,
    descriptions={
        404: "No such account (or one the caller may not see), or no such tier.",
        409: "The tier is not an exempt tier, or `expires_at` is not in the future.",
    },
)
def grant(body: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Give the account an exempt tier (staff only); it replaces a previous exempt grant."""
    principal = staff()
    _, account = account_for(account_id)
    now = utcnow()
    with request_transaction():
        _refuse_grant(body["tier"], body.get("expires_at"), now)
        result = grant_exempt_tier(
            account,
            body["tier"],
            actor=principal.actor,
            reason=body["reason"],
            expires_at=body.get("expires_at"),
            now=now,
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

"""Flask helpers: ``@require_permission``, the ``can()`` template function, current_entitlements.

The account a request acts for is, by default: on tiergate's own views, the ``account_id`` in the
URL when the view has one; else the account chosen in the session; else the caller's first
account (an account API key: its own). An application replaces the rule with
``TierGate(account_for_request=...)``, a callable returning an account id or None. The
account's entitlements are looked up at most once per request and kept on ``flask.g`` (see
``request_memo``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import abort, current_app, jsonify, render_template, request, session
from werkzeug.local import LocalProxy

from ..accounts.principal import current_principal, request_memo
from ..catalog.models import Permission
from ..db import db
from .check import CheckResult, decide_permission
from .resolve import Entitlements
from .services import entitlements_for, get_cache

F = TypeVar("F", bound=Callable[..., Any])
#: Session key of the account a logged-in user chose to act for.
SESSION_ACCOUNT = "account_id"
NO_ACCOUNT = "no_account"
_ACCOUNT = "account_id"
_ENTITLEMENTS = "entitlements"
_CHECKS = "checks"

REASON_TEXT = {
    "not_in_tier": "Your plan, {tier}, does not include {permission}.",
    "past_due_grace_expired": "A payment is overdue and the grace period has ended.",
    "subscription_canceled": "Your subscription has ended.",
    "subscription_unpaid": "Your subscription is unpaid.",
    "subscription_paused": "Your subscription is paused.",
    "subscription_incomplete": "Your subscription was never completed.",
    "subscription_expired": "Your subscription has expired.",
    "exempt_grant_expired": "Your complimentary plan has ended.",
    "unknown_permission": "{permission} is not a feature this site knows.",
    "limit_reached": "Your plan, {tier}, allows no more of {permission}.",
    NO_ACCOUNT: "You are not a member of any account.",
}


def wants_json() -> bool:
    """Tell whether the current request should get JSON rather than an HTML page."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def current_account_id() -> int | None:
    """Return the id of the account the request acts for; 404 for an account not the caller's."""
    memo = request_memo()
    if _ACCOUNT not in memo:
        resolver = current_app.extensions["tiergate"].account_for_request
        memo[_ACCOUNT] = default_account_id() if resolver is None else _resolved(resolver())
    return cast("int | None", memo[_ACCOUNT])


def _resolved(account_id: int | None) -> int | None:
    # The application's rule names the account; whether the caller may act for it is still
    # tiergate's to check.
    if account_id is not None and not current_principal().can_access(int(account_id)):
        abort(404)  # another account's: its existence is not revealed
    return account_id


def default_account_id() -> int | None:
    """tiergate's rule for the account a request acts for (see the module's docstring)."""
    principal = current_principal()
    # An application's own view may have an account_id argument of its own meaning.
    ours = (request.blueprint or "").startswith("tiergate")
    wanted = (request.view_args or {}).get("account_id") if ours else None
    if principal.is_anonymous:
        return None
    if wanted is not None:
        if not principal.can_access(int(wanted)):
            abort(404)  # another account's: its existence is not revealed
        return int(wanted)
    chosen = session.get(SESSION_ACCOUNT) if principal.user is not None else None
    if isinstance(chosen, int) and principal.can_access(chosen):
        return chosen
    return principal.default_account_id()


def get_current_entitlements() -> Entitlements | None:
    """Return the request's account's entitlements (looked up once per request), or None."""
    memo = request_memo()
    if _ENTITLEMENTS not in memo:
        account_id = current_account_id()
        memo[_ENTITLEMENTS] = entitlements_for(account_id) if account_id else None
    return cast("Entitlements | None", memo[_ENTITLEMENTS])


current_entitlements: Entitlements | None = LocalProxy(get_current_entitlements)  # type: ignore[assignment]


def check_current(permission: str) -> CheckResult:
    """Decide ``permission`` for the request's account, from the request's entitlements."""
    checks: dict[str, CheckResult] = request_memo().setdefault(_CHECKS, {})
    result = checks.get(permission)
    if result is None:
        entitlements = get_current_entitlements()
        if entitlements is None:
            result = CheckResult(False, permission, NO_ACCOUNT, None)
        else:
            result = decide_permission(entitlements, get_cache().catalog(), permission)
        checks[permission] = result
    return result


def can(permission: str) -> bool:
    """Tell a template whether the request's account may use ``permission``."""
    return check_current(permission).allowed


def require_permission(permission: str, consume: int | None = None) -> Callable[[F], F]:
    """Let the view run only when the request's account has ``permission``.

    With ``consume``, the view also takes that many units of a limited permission: reserved
    (an allocation) or tracked (metered) in the view's own transaction, so they commit with
    the view's work and are given back when it fails (an exception or an error response).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal.is_anonymous:
                return _unauthenticated(principal.invalid_credentials)
            result = check_current(permission)
            if not result.allowed:
                return denial(result)
            if consume is None:
                return view(*args, **kwargs)
            return _consuming(permission, consume, view, args, kwargs)

        return cast(F, guarded)

    return decorator


def _consuming(permission: str, amount: int, view: Callable[..., Any], args: Any, kw: Any) -> Any:
    """Take ``amount`` of ``permission`` for the view, in one transaction with it."""
    from ..limits.consume import consume_for_view

    account_id = current_account_id()
    assert account_id is not None  # check_current allowed it: there is an account
    return consume_for_view(account_id, permission, amount, lambda: view(*args, **kw))


def _unauthenticated(invalid_credentials: bool) -> Any:
    if wants_json() or invalid_credentials:
        message = "the API key is not valid" if invalid_credentials else "authentication needed"
        return jsonify(error="unauthorized", message=message), 401
    from ..accounts import users

    return users.ask_to_log_in()


def reason_text(result: CheckResult, tier_name: str | None, permission_name: str) -> str:
    """Explain a denial in a sentence."""
    template = REASON_TEXT.get(result.reason or "", "This is not available on your plan.")
    return template.format(tier=tier_name or "none", permission=permission_name)


def denial(result: CheckResult) -> Any:
    """Respond to a denied check: 403 JSON with the error shape, or the 403 page."""
    catalog = get_cache().catalog()
    tiers = {tier.key: tier for tier in catalog.tiers.values()}
    tier = tiers.get(result.tier or "")
    name = db.session.scalar(sa.select(Permission.name).where(Permission.key == result.permission))
    message = reason_text(result, tier.name if tier else None, name or result.permission)
    if wants_json():
        body = {"error": "permission_denied", "message": message, **result.to_dict()}
        return jsonify(body), 403
    upgrades = [tiers[key] for key in result.upgrade_to if key in tiers]
    page = render_template(
        "tiergate/entitlements/forbidden.html", result=result, message=message, upgrades=upgrades
    )
    return page, 403

"""Who may call what: bearer keys and sessions, staff-only operations, account scoping.

Rules, the same on every route:
- a bearer token that is malformed, unknown or revoked -> 401, even on public routes;
- no credentials on a route that needs them -> 401;
- a non-staff caller on a staff-only route -> 403 (whatever the account: nothing leaks);
- an account the caller may not see -> 404, the same answer as for an account that does not
  exist, so account ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import marshmallow as ma
from flask import abort, current_app, request
from flask_smorest import Blueprint
from flask_wtf.csrf import CSRFError
from marshmallow import missing
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from ..accounts.apikeys import ensure_api_in_plan
from ..accounts.models import Account
from ..accounts.principal import SAFE_METHODS, Principal, current_principal
from ..db import begin_write_transaction, db
from ..errors import TiergateError, domain_error_response
from ..web.csrf import csrf, csrf_failed
from ..web.input import refuse_unstorable_input
from .errors import COMMON_ERRORS, ErrorSchema, error_response

F = TypeVar("F", bound=Callable[..., Any])
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
#: Public operations also accept a key (or a session); none is needed.
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
_READ_ONLY = "_tiergate_read_only"


class JSONBodyParser(FlaskParser):
    """webargs' parser, except that an operation documented with a body requires one."""

    def load_json(self, req: Any, schema: Any) -> Any:
        data = super().load_json(req, schema)
        if data is missing:
            raise ma.ValidationError({"_body": ["a JSON request body is required"]})
        return data


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose JSON bodies are required, and checked by guard_request."""

    ARGUMENTS_PARSER = JSONBodyParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(refuse_unstorable_input)
        self.before_request(guard_request)
        # The one JSON error shape on the API's own routes; the application's pages keep theirs.
        self.register_error_handler(HTTPException, error_response)
        self.register_error_handler(TiergateError, domain_error_response)
        self.register_error_handler(CSRFError, csrf_failed)


def caller() -> Principal:
    """Return the caller; 401 for a bearer token that is not a valid key."""
    principal = current_principal()
    if principal.invalid_credentials:
        abort(401, description="the API key is malformed, unknown or revoked")
    return principal


def authenticated() -> Principal:
    """Return the authenticated caller, or answer 401."""
    principal = caller()
    if principal.is_anonymous:
        abort(401, description="this operation needs an API key (Authorization: Bearer tg_...)")
    return principal


def staff() -> Principal:
    """Return the caller when it is staff (a staff user or key), or answer 401/403."""
    principal = authenticated()
    if not principal.is_staff:
        abort(403, description="this operation is for staff only")
    return principal


def account_for(account_id: int) -> tuple[Principal, Account]:
    """Return the caller and the account when the caller may see it; else 401 or 404."""
    principal = authenticated()
    account = db.session.get(Account, account_id) if principal.can_access(account_id) else None
    if account is None:
        abort(404, description=f"no account {account_id}")
    return principal, account


def read_only(view: F) -> F:
    """Mark an unsafe-method view (a POST that only reads) so no write lock is taken for it."""
    setattr(view, _READ_ONLY, True)
    return view


def documented(
    blp: Blueprint,
    *statuses: int,
    security: list[dict[str, Any]],
    descriptions: dict[int, str] | None = None,
) -> Callable[[F], F]:
    """Document the error statuses a view can answer with, in the one error shape.

    ``descriptions`` says, for this operation, when a status is answered (the general text
    otherwise).
    """
    texts = {**_DESCRIPTIONS, **(descriptions or {})}

    def decorator(view: F) -> F:
        for status in sorted({*COMMON_ERRORS, *statuses}):
            view = blp.alt_response(status, schema=ErrorSchema, description=texts[status])(view)
        return cast(F, blp.doc(security=security)(view))

    return decorator


_DESCRIPTIONS = {
    400: "Malformed request (for example, invalid JSON, or a missing CSRF token for a session).",
    401: "No credentials, or an API key that is malformed, unknown or revoked.",
    403: (
        "Authenticated, but not allowed (staff only; or an account's key whose plan no longer"
        " includes the API: error api_not_in_plan)."
    ),
    404: "No such resource, or an account the caller may not see.",
    409: "Conflicts with the current state (a key already taken, the default tier).",
    413: "The request body is larger than the server accepts.",
    415: "The request body is not JSON.",
    422: "The request does not validate.",
}


def guard_request() -> None:
    """Check the request before any view: the key's plan, JSON bodies, CSRF, write lock."""
    _refuse_keys_outside_the_plan()
    if request.method in SAFE_METHODS:
        return
    if _has_body() and not request.is_json:
        abort(415, description="send the request body as JSON (Content-Type: application/json)")
    principal = current_principal()
    if principal.user is not None and principal.api_key is None:
        # A browser session carries cookies on its own: require the CSRF token as well.
        csrf.protect()
    view = request.endpoint and _view_function()
    if view is not None and not getattr(view, _READ_ONLY, False):
        begin_write_transaction()


def _refuse_keys_outside_the_plan() -> None:
    """Refuse an account's key once its plan no longer includes the API (a downgrade)."""
    principal = current_principal()
    key = principal.api_key
    if key is None or key.account_id is None or principal.invalid_credentials:
        return  # staff keys are the operator's; sessions use the pages' own rules
    account = db.session.get(Account, key.account_id)
    if account is not None:
        ensure_api_in_plan(account, str(current_app.config["TIERGATE_API_KEY_PERMISSION"]))


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")


def _view_function() -> Any:
    return current_app.view_functions.get(request.endpoint or "")

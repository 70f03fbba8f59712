"""Who is asking: a logged-in user, an API key, or nobody; resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import g, request

from ..audit.services import Actor
from ..db import begin_write_transaction, db, utcnow
from . import users
from .apikeys import KEY_PREFIX, authenticate_api_key, mark_api_key_used, needs_last_used_update
from .models import ApiKey, Membership

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MEMO = "tiergate_request_memo"
_PRINCIPAL = "principal"


def request_memo() -> dict[str, Any]:
    """Return a dict that lives as long as the current request (kept on ``flask.g``).

    It is tied to the request object, not only to ``g``: a test client that reuses one app
    context for several requests must not see the previous request's caller or answers.
    """
    current = request._get_current_object()  # type: ignore[attr-defined]
    memo: tuple[Any, dict[str, Any]] | None = g.get(_MEMO)
    if memo is None or memo[0] is not current:
        memo = (current, {})
        setattr(g, _MEMO, memo)
    return memo[1]


@dataclass
class Principal:
    """The caller of one request and the accounts it may see."""

    user: Any | None = None
    api_key: ApiKey | None = None
    #: A bearer token was sent but is malformed, unknown or revoked.
    invalid_credentials: bool = False
    _roles: dict[int, str] | None = field(default=None, repr=False)

    @property
    def is_anonymous(self) -> bool:
        """True when nobody (valid) is authenticated."""
        return self.user is None and self.api_key is None

    @property
    def is_staff(self) -> bool:
        """True for a staff user or a staff API key (one without an account)."""
        if self.api_key is not None:
            return self.api_key.account_id is None
        return users.is_staff(self.user)

    @property
    def actor(self) -> Actor:
        """The actor recorded in the audit log for changes this caller makes."""
        if self.api_key is not None:
            return Actor.api_key(self.api_key)
        if self.user is not None:
            return Actor.user(self.user)
        return Actor.system("anonymous")

    def roles(self) -> dict[int, str]:
        """Return account id -> role for the user's memberships (read once)."""
        if self._roles is None:
            self._roles = {}
            if self.user is not None:
                rows = db.session.execute(
                    sa.select(Membership.account_id, Membership.role).where(
                        Membership.user_id == users.user_id(self.user)
                    )
                )
                self._roles = {account_id: role for account_id, role in rows}
        return self._roles

    def can_access(self, account_id: int) -> bool:
        """Tell whether the caller may read and act on the account (staff: every account)."""
        if self.is_staff:
            return True
        if self.api_key is not None:
            return self.api_key.account_id == account_id
        return account_id in self.roles()

    def default_account_id(self) -> int | None:
        """The account the caller acts for when a request names none."""
        if self.api_key is not None:
            return self.api_key.account_id
        roles = self.roles()
        return min(roles) if roles else None


def _bearer_principal(header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Principal(invalid_credentials=True)
    key = authenticate_api_key(token.strip())
    if key is None:
        return Principal(invalid_credentials=True)
    now = utcnow()
    if needs_last_used_update(key, now):
        # SQLite: a transaction that has read cannot reliably become a writer; take the
        # write lock first (a read-only transaction is restarted, reloading the key).
        begin_write_transaction()
        mark_api_key_used(key, now)
        if request.method in SAFE_METHODS:
            db.session.commit()  # nothing else is written by a safe request
    return Principal(api_key=key)


def _claims(header: str) -> bool:
    """Tell whether an Authorization header is tiergate's to check.

    On the JSON API every header is; elsewhere only a bearer key with tiergate's prefix, so
    the application's own tokens (a JWT, another API's keys) reach its views untouched.
    """
    if (request.blueprint or "").startswith("tiergate_api"):
        return True
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and token.strip().startswith(KEY_PREFIX)


def current_principal() -> Principal:
    """Return the caller of the current request (a bearer key wins over the session)."""
    memo = request_memo()
    principal: Principal | None = memo.get(_PRINCIPAL)
    if principal is None:
        header = request.headers.get("Authorization")
        if header is not None and _claims(header):
            principal = _bearer_principal(header)
        else:
            principal = Principal(user=users.current())
        memo[_PRINCIPAL] = principal
    return principal

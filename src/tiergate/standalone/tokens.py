"""Signed, expiring links for e-mail: verify an address, reset a password, change an address.

Tokens are signed with SECRET_KEY (itsdangerous) and store nothing. Each is single-use by
what it names: a reset token names the password it replaces, an e-mail change token the
address it replaces, so once used it no longer matches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import TiergateError
from .users import User

VERIFY = "tiergate.verify-email"
RESET = "tiergate.reset-password"
CHANGE_EMAIL = "tiergate.change-email"


class InvalidLink(TiergateError):
    """A link that is malformed, forged, expired or already used."""

    code = "invalid_link"
    status = 400


@dataclass(frozen=True)
class LinkClaims:
    """What a valid link says: the user id and its purpose's values."""

    user_id: int
    values: dict[str, Any]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _max_age(purpose: str) -> int:
    config = current_app.config
    if purpose == RESET:
        return int(float(config["TIERGATE_PASSWORD_RESET_MINUTES"]) * 60)
    return int(float(config["TIERGATE_EMAIL_LINK_HOURS"]) * 3600)


def password_fingerprint(user: User) -> str:
    """Return a short digest of the user's password hash: a reset link is for this one."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def make_token(purpose: str, user: User, **values: Any) -> str:
    """Return a signed token for ``purpose`` naming ``user`` and ``values``."""
    return _serializer(purpose).dumps({"u": user.id, **values})


def read_token(purpose: str, token: str) -> LinkClaims:
    """Return what a valid token says, or raise InvalidLink saying why it is not."""
    try:
        data = _serializer(purpose).loads(token, max_age=_max_age(purpose))
    except SignatureExpired:
        raise InvalidLink("This link has expired: ask for a new one.") from None
    except BadSignature:
        raise InvalidLink("This link is not valid: ask for a new one.") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise InvalidLink("This link is not valid: ask for a new one.")
    user_id = data.pop("u")
    return LinkClaims(user_id, data)

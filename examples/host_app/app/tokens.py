"""The host's own bearer tokens for its JSON API: compact HS256 JWTs signed with SECRET_KEY.

tiergate never reads these: it only claims ``Authorization: Bearer tg_...`` headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from flask import current_app

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return _b64(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def issue_token(user_id: int, lifetime: int = 3600) -> str:
    """Return a signed token naming ``user_id``, valid for ``lifetime`` seconds."""
    claims = {"sub": str(user_id), "exp": int(time.time()) + lifetime}
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}.{_sign(f'{head}.{body}')}"


def read_token(token: str) -> dict[str, Any] | None:
    """Return the claims of a valid, unexpired token, or None."""
    try:
        head, body, signature = token.split(".")
        if not hmac.compare_digest(signature, _sign(f"{head}.{body}")):
            return None
        if json.loads(_unb64(head)) != _HEADER:
            return None
        claims: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if int(claims.get("exp", 0)) < time.time():
        return None
    return claims

"""What the sandbox's APIs share for changes: the request log, idempotency, delivering events.

Stripe replays the stored response of a request whose ``Idempotency-Key`` it has seen (for
24 hours): a doubled or retried change is applied, and charged, once. Every changing call is
logged (``api_request`` objects), so tests can assert on what tiergate asked the provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import request

from ....db import request_transaction
from . import store
from .deliver import deliver_all

#: (response body, HTTP status, events the provider sends about it)
Outcome = tuple[dict[str, Any], int, list[dict[str, Any]]]


def log_request(provider: str, params: dict[str, Any]) -> None:
    """Record a changing API call: method, path, parameters and idempotency key."""
    store.put(
        provider,
        "api_request",
        {
            "id": store.new_id("req"),
            "method": request.method,
            "path": request.path,
            "params": params,
            "idempotency_key": request.headers.get("Idempotency-Key"),
        },
    )


def requests_received(provider: str, path_part: str = "") -> list[dict[str, Any]]:
    """Return the changing calls the sandbox received (whose path contains ``path_part``)."""
    rows = store.list_objects(provider, "api_request")
    return [row.data for row in rows if path_part in row.data["path"]]


def answer(provider: str, params: dict[str, Any], change: Callable[[], Outcome]) -> Any:
    """Apply ``change`` once per idempotency key, commit, deliver its events, and answer."""
    key = request.headers.get("Idempotency-Key")
    seen_id = "idem_" + hashlib.sha256(key.encode()).hexdigest()[:40] if key else None
    if seen_id is not None:
        seen = store.get(provider, seen_id, "idempotency")
        if seen is not None:
            return seen.data["body"], seen.data["status"]
    with request_transaction():
        body, status, events = change()
        log_request(provider, params)
        if seen_id is not None:
            store.put(provider, "idempotency", {"id": seen_id, "body": body, "status": status})
    if events:
        deliver_all(provider, events)
    return body, status

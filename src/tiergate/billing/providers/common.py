"""What Stripe and Whop do alike: which tiers they sell, picking the one price, secret rotation."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from flask import current_app, has_app_context

from ...errors import ValidationError
from . import CatalogMismatch, ProviderDisabled, WebhookVerificationError
from .registry import paid_provider

if TYPE_CHECKING:
    from ...catalog.models import SubscriptionTier

T = TypeVar("T")


def sold_through(tier: SubscriptionTier, provider: str) -> str:
    """Return the tier's price or product key at ``provider``, or raise ValidationError."""
    paid = paid_provider(provider)
    key = paid.key_of(tier)
    if tier.billing_provider != provider or key is None:
        raise ValidationError(
            f"tier {tier.key!r} is not sold through {paid.label} (it needs billing_provider "
            f"'{provider}' and a {paid.key_field})",
            tier=tier.key,
        )
    return key


def the_one(found: Sequence[T], message: str, provider: str, **details: Any) -> T:
    """Return the only item of ``found``, or raise CatalogMismatch with ``message``."""
    if len(found) != 1:
        raise CatalogMismatch(message, provider=provider, **details)
    return found[0]


def verify_with_any_secret(
    provider: str,
    secrets: Sequence[str],
    setting: str,
    verify: Callable[[str], T],
    rejections: tuple[type[Exception], ...],
) -> T:
    """Return ``verify(secret)`` for the first configured secret that accepts the delivery."""
    label = paid_provider(provider).label
    if not secrets:
        raise ProviderDisabled(
            f"{label} webhooks are not configured: set {setting}", provider=provider
        )
    # Several secrets are configured while one is rotated out: any of them may have signed.
    failure: Exception | None = None
    for secret in secrets:
        try:
            return verify(secret)
        except rejections as error:
            failure = error
    raise WebhookVerificationError(
        f"{label} webhook signature rejected: {failure}", provider=provider
    )


# --- webhook bodies --------------------------------------------------------------------------

#: Provider events nest a dozen levels at most; a body nesting deeper is refused before parsing,
#: long before Python's JSON parser would reach its recursion limit.
MAX_WEBHOOK_NESTING = 64
#: Event timestamps are accepted from 1970 up to (not including) the year 2100.
LATEST_EVENT_TIME = 4_102_444_800

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPENING = frozenset(b"[{")


class MalformedWebhook(WebhookVerificationError):
    """A correctly signed webhook body that is not an event tiergate can store."""

    code = "malformed_webhook_payload"
    status = 400


def nests_deeper_than(raw_body: bytes, limit: int) -> bool:
    """True when the JSON text ``raw_body`` opens more than ``limit`` arrays or objects."""
    # Brackets inside strings do not nest: strings are removed first, then only brackets kept.
    brackets = _JSON_STRING.sub(b"", raw_body).translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    depth = 0
    for byte in brackets:
        depth += 1 if byte in _OPENING else -1
        if depth > limit:
            return True
    return False


def refuse_deep_nesting(provider: str, raw_body: bytes) -> None:
    """Raise MalformedWebhook when the body nests too deep for a JSON parser to be safe."""
    if nests_deeper_than(raw_body, MAX_WEBHOOK_NESTING):
        raise MalformedWebhook(
            f"{paid_provider(provider).label} webhook body nests deeper than "
            f"{MAX_WEBHOOK_NESTING} levels",
            provider=provider,
        )


def parse_webhook_body(provider: str, raw_body: bytes) -> dict[str, Any]:
    """Return a webhook body as its JSON object, or raise MalformedWebhook saying why."""
    label = paid_provider(provider).label
    refuse_deep_nesting(provider, raw_body)
    try:
        payload = json.loads(raw_body)
    except (ValueError, RecursionError) as error:
        raise MalformedWebhook(
            f"{label} webhook body is not JSON: {error}", provider=provider
        ) from None
    return event_object(provider, payload, "body")


def event_object(provider: str, value: Any, name: str) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else raise MalformedWebhook about ``name``."""
    if not isinstance(value, dict):
        label = paid_provider(provider).label
        raise MalformedWebhook(
            f"{label} webhook body is not an event: {name} is not a JSON object "
            f"(it is {_json_kind(value)})",
            provider=provider,
        )
    return value


def event_text(provider: str, value: Any, name: str, max_length: int) -> str:
    """Return an event's id or type: a non-empty string the database can store."""
    label = paid_provider(provider).label
    if not isinstance(value, str) or not value:
        raise MalformedWebhook(
            f"{label} webhook body is not an event: {name} must be a non-empty string "
            f"(it is {_json_kind(value)})",
            provider=provider,
        )
    if len(value) > max_length or "\x00" in value:
        raise MalformedWebhook(
            f"{label} webhook body is not an event: {name} must be at most {max_length} "
            "characters, without NUL",
            provider=provider,
        )
    return value


def event_time(provider: str, value: Any, name: str) -> datetime:
    """Return an event's Unix timestamp (an integer from 1970 to 2099) as aware UTC."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < LATEST_EVENT_TIME:
        label = paid_provider(provider).label
        raise MalformedWebhook(
            f"{label} webhook body is not an event: {name} must be a Unix time in seconds "
            f"between 1970 and 2099, not {_json_kind(value)}",
            provider=provider,
        )
    return datetime.fromtimestamp(value, UTC)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}" if abs(value) < 1e18 else "a huge number"
    if isinstance(value, str):
        return "a string" if value else "empty"
    return "an array" if isinstance(value, list) else "an object"


# --- the sandbox's operator ------------------------------------------------------------------

#: The header by which this process's own provider clients speak to its sandbox as the operator.
SANDBOX_OPERATOR_HEADER = "Tiergate-Sandbox-Operator"
_OPERATOR_TOKEN = "tiergate.sandbox_operator_token"


def sandbox_operator_token() -> str:
    """Return this app's secret operator token for its sandbox (made on first use).

    The sandbox's API keys are public, so a key alone names no one: a call that carries this
    token comes from the app's own provider client (through the in-process transport) and may
    see every customer's objects; any other caller sees one customer's at most.
    """
    return str(current_app.extensions.setdefault(_OPERATOR_TOKEN, secrets.token_urlsafe(32)))


class OperatorTransport(httpx.BaseTransport):
    """Hand requests to ``inner`` with the app's sandbox operator token on each."""

    def __init__(self, inner: httpx.BaseTransport, token: str) -> None:
        self.inner = inner
        self.token = token

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[SANDBOX_OPERATOR_HEADER] = self.token
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def with_operator_token(transport: httpx.BaseTransport) -> httpx.BaseTransport:
    """Return ``transport`` carrying the sandbox operator token (in-process transports only)."""
    if not has_app_context():
        return transport  # no app, so no sandbox of its own to speak to
    return OperatorTransport(transport, sandbox_operator_token())


def is_sandbox_operator(headers: Any) -> bool:
    """True when a sandbox API call carries this app's operator token."""
    given = headers.get(SANDBOX_OPERATOR_HEADER) or ""
    return hmac.compare_digest(given.encode(), sandbox_operator_token().encode())

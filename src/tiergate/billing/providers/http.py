"""HTTP plumbing shared by the providers: the Stripe SDK over httpx, and error mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import stripe
from whop_sdk.core.api_error import ApiError
from whop_sdk.core.parse_error import ParsingError

from . import ProviderError, ProviderObjectNotFound, ProviderUnavailable


class HttpxStripeClient(stripe.HTTPClient):
    """Stripe's HTTP client interface over an ``httpx.Client`` with a chosen transport.

    The SDK builds every request (URL, form encoding, headers) itself; only the wire is
    swapped, so the sandbox and the tests exercise the real SDK code.
    """

    name = "tiergate-httpx"

    def __init__(self, transport: httpx.BaseTransport, timeout: float = 30.0) -> None:
        super().__init__()
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        try:
            response = self._http.request(
                method, url, headers=dict(headers or {}), content=post_data or None
            )
        except httpx.HTTPError as error:
            raise stripe.APIConnectionError(f"could not reach {url}: {error}") from error
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        self._http.close()


def stripe_error(error: stripe.StripeError, action: str) -> ProviderError:
    """Return the tiergate error for a Stripe error raised while doing ``action``."""
    message = error.user_message or str(error) or type(error).__name__
    status = error.http_status
    details = {"provider": "stripe", "provider_status": status, "provider_code": error.code}
    if isinstance(error, stripe.APIConnectionError) or (status is not None and status >= 500):
        return ProviderUnavailable(f"Stripe is unavailable ({action}): {message}", **details)
    if status == 404:
        return ProviderObjectNotFound(f"Stripe has no such object ({action}): {message}", **details)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return ProviderError(
            f"Stripe refused the API key ({action}): check TIERGATE_STRIPE_SECRET_KEY", **details
        )
    return ProviderError(f"Stripe rejected the request ({action}): {message}", **details)


def whop_error(error: Exception, action: str) -> ProviderError:
    """Return the tiergate error for a Whop SDK or transport error raised while ``action``."""
    status = getattr(error, "status_code", None)
    body = getattr(error, "body", None)
    message = _whop_message(body) or type(error).__name__
    details = {"provider": "whop", "provider_status": status}
    if isinstance(error, ParsingError):
        return ProviderError(f"Whop sent an answer tiergate cannot read ({action})", **details)
    if isinstance(error, httpx.HTTPError) or status is None or status >= 500:
        return ProviderUnavailable(f"Whop is unavailable ({action}): {message}", **details)
    if status == 404:
        return ProviderObjectNotFound(f"Whop has no such object ({action}): {message}", **details)
    if status in (401, 403):
        return ProviderError(
            f"Whop refused the API key ({action}): check TIERGATE_WHOP_API_KEY", **details
        )
    return ProviderError(f"Whop rejected the request ({action}): {message}", **details)


def _whop_message(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("message"):
            return str(body["message"])
    return str(body) if body else None


@contextmanager
def calling_stripe(action: str) -> Iterator[None]:
    """Turn a Stripe SDK error raised while doing ``action`` into a ProviderError."""
    try:
        yield
    except stripe.StripeError as error:
        raise stripe_error(error, action) from error


@contextmanager
def calling_whop(action: str) -> Iterator[None]:
    """Turn a Whop SDK or transport error raised while doing ``action`` into a ProviderError."""
    try:
        yield
    except (ApiError, ParsingError, httpx.HTTPError) as error:
        raise whop_error(error, action) from error

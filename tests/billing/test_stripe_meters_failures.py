"""Meter events when Stripe fails: a provider error, nothing double-counted on the retry."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from tiergate.billing.providers import ProviderError, ProviderUnavailable
from tiergate.billing.providers.config import stripe_settings
from tiergate.billing.providers.stripe import StripeProvider

from . import test_stripe_meters as base
from .test_stripe_meters import meter_events, pay, stripe, summed, usage

# The reporting tests' fixtures: the sandbox app with metered prices, its account and inbox.
sandbox_app = base.sandbox_app  # account and inbox: tests/billing/conftest.py


class Failing(httpx.BaseTransport):
    """The sandbox's transport, failing meter event calls as asked."""

    def __init__(self, inner: httpx.BaseTransport, how: str) -> None:
        self.inner = inner
        self.how = how
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/billing/meter_events"):
            return self.inner.handle_request(request)
        self.calls += 1
        if self.how == "500":
            return httpx.Response(500, json={"error": {"type": "api_error", "message": "boom"}})
        if self.how.startswith("400 "):
            body = {"error": {"type": "invalid_request_error", "message": self.how[4:]}}
            return httpx.Response(400, json=body)
        if self.how == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        # "lost": Stripe records the event, but its answer never arrives.
        self.inner.handle_request(request)
        raise httpx.ReadTimeout("timed out", request=request)


def failing(how: str) -> tuple[StripeProvider, Failing]:
    settings = stripe_settings()
    assert settings.transport is not None
    transport = Failing(settings.transport, how)
    return StripeProvider(replace(settings, transport=transport)), transport


@pytest.mark.parametrize("how", ["500", "timeout"])
def test_a_failing_stripe_raises_and_counts_nothing(sandbox_app, account, inbox, how) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    provider, transport = failing(how)

    with pytest.raises(ProviderUnavailable, match="Stripe is unavailable") as caught:
        provider.report_meter_events([usage("u-1", customer, 9), usage("u-2", customer, 1)])

    assert isinstance(caught.value, ProviderError)
    assert caught.value.details["failed_identifier"] == "u-1"
    assert caught.value.details["reported"] == []
    assert transport.calls == 1  # the batch stops at the first failure
    assert meter_events() == []
    assert summed(customer) == 0


def test_a_lost_answer_then_a_retry_counts_once(sandbox_app, account, inbox) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    provider, _ = failing("lost")
    batch = [usage("u-1", customer, 9), usage("u-2", customer, 1)]

    with pytest.raises(ProviderError):
        provider.report_meter_events(batch)
    assert summed(customer) == 9  # Stripe has the first one; the caller does not know it

    stripe().report_meter_events(batch)  # the retry
    assert summed(customer) == 10
    assert len(meter_events()) == 2


@pytest.mark.parametrize(
    "message",
    [
        "An event already exists with identifier u-10.",  # another identifier than u-1
        "Missing required param: event_name.",
    ],
)
def test_another_refusal_is_a_provider_error(sandbox_app, account, inbox, message) -> None:
    customer = pay(sandbox_app, account, "api_calls_metered")
    provider, _ = failing(f"400 {message}")
    with pytest.raises(ProviderError, match="Stripe rejected the request") as caught:
        provider.report_meter_events([usage("u-1", customer, 1)])
    assert not isinstance(caught.value, ProviderUnavailable)
    assert message in caught.value.message
    assert caught.value.details["provider_status"] == 400

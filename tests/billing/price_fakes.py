"""Both providers on recording fake APIs, and Stripe price objects, for the price tests."""

from __future__ import annotations

from typing import Any

import pytest

from tiergate.billing import prices as prices_module
from tiergate.billing.providers.config import StripeSettings, WhopSettings
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.providers.whop import WhopProvider

from .providers.fakes import FakeApi

WHOP_PLANS = "/api/v1/plans"


def stripe_price(
    lookup_key: str, amount: int | None, currency: str = "usd", interval: str = "month", **more: Any
) -> dict[str, Any]:
    """Return a Stripe price object with ``lookup_key`` (``amount`` in the smallest unit)."""
    recurring = {"interval": interval, "interval_count": more.pop("interval_count", 1)}
    return {
        "id": f"price_{lookup_key}_{currency}",
        "object": "price",
        "active": True,
        "currency": currency,
        "lookup_key": lookup_key,
        "recurring": recurring,
        "type": "recurring",
        "unit_amount": amount,
        **more,
    }


def price_list(*items: dict[str, Any]) -> dict[str, Any]:
    """Return Stripe's list envelope around price objects."""
    return {"object": "list", "data": list(items), "has_more": False, "url": "/v1/prices"}


def use_fake_providers(
    monkeypatch: pytest.MonkeyPatch,
    stripe_api: FakeApi,
    whop_api: FakeApi,
    keys: dict[str, str | None],
) -> None:
    """Make the price service build real providers on the fake APIs (no key: disabled)."""

    def get_provider(name: str) -> Any:
        if name == "stripe":
            return StripeProvider(
                StripeSettings(
                    secret_key=keys["stripe"],
                    webhook_secrets=(),
                    api_base="http://stripe.test",
                    transport=stripe_api.transport(),
                    max_network_retries=0,
                )
            )
        return WhopProvider(
            WhopSettings(
                api_key=keys["whop"],
                webhook_secrets=(),
                api_base="http://whop.test/api/v1",
                company_id="biz_1",
                transport=whop_api.transport(),
                max_retries=0,
            )
        )

    monkeypatch.setattr(prices_module, "get_provider", get_provider)

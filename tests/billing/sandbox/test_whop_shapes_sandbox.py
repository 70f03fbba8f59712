"""The Whop sandbox speaks the dated and the v1 shape, sells one-time plans, rolls periods."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from whop_sdk.core.pydantic_utilities import parse_obj_as
from whop_sdk.types import Membership, MembershipLegacy

from tiergate.billing.models import Subscription
from tiergate.billing.providers import Event, ProviderError, get_provider
from tiergate.billing.providers.config import WhopSettings, whop_settings
from tiergate.billing.providers.sandbox import deliver, pages
from tiergate.billing.providers.whop import WhopProvider
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db

from .conftest import PUBLIC_URL
from .inbox import Inbox

#: Webhook secrets only: a state comes from the delivered payload itself, never re-fetched.
FROM_PAYLOADS = WhopProvider(WhopSettings(api_key=None, webhook_secrets=("ws_x",)))


class RecordingInbox(Inbox):
    """The sandbox inbox, also keeping each delivered body."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[dict[str, Any]] = []

    def deliver_all(self, provider_name, payloads):
        self.payloads.extend(payloads)
        return super().deliver_all(provider_name, payloads)

    def last(self, event_type: str) -> dict[str, Any]:
        return [p for p in self.payloads if p["type"] == event_type][-1]


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> RecordingInbox:
    receiver = RecordingInbox()
    monkeypatch.setattr(pages, "deliver_all", receiver.deliver_all)
    monkeypatch.setattr(deliver, "deliver_all", receiver.deliver_all)
    return receiver


def stored() -> Subscription:
    db.session.rollback()  # a fresh SQLite snapshot: the sandbox commits in its own sessions
    return db.session.scalars(sa.select(Subscription).where(Subscription.provider == "whop")).one()


def buy(client, account) -> None:
    url = get_provider("whop").start_checkout(
        account, tier("enterprise"), success_url=f"{PUBLIC_URL}/account", cancel_url="/"
    )
    assert client.post(url.removeprefix(PUBLIC_URL) + "/pay").status_code == 303


def payload_state(payload: dict[str, Any]):
    event = Event(
        "whop",
        payload["id"],
        payload["type"],
        stored().provider_updated_at,
        payload["data"],
        payload,
    )
    [state] = FROM_PAYLOADS.states_from_event(event)
    return state


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_webhooks_in_either_shape_give_the_state_the_api_gives(
    sandbox_app, account, inbox, shape
) -> None:
    sandbox_app.config["TIERGATE_SANDBOX_WHOP_SHAPE"] = shape
    buy(sandbox_app.test_client(), account)
    payload = inbox.last("membership.activated")
    data = payload["data"]
    # Each shape is the published SDK type: the Stainless SDK's v1 or whop-sdk 2.6's dated.
    parse_obj_as(MembershipLegacy if shape == "v1" else Membership, data)
    if shape == "v1":
        assert "current_period_end" not in data and data["renewal_period_end"]
        assert data["user"]["id"] and data["product"]["id"] == "prod_enterprise"
        assert payload["api_version_date"] is None
    else:
        assert "renewal_period_end" not in data and data["current_period_end"]
        assert data["product_id"] == "prod_enterprise"
        assert payload["api_version_date"] == "2026-10-15-1"
    from_webhook = payload_state(payload)
    from_api = get_provider("whop").fetch_subscription(stored().provider_subscription_id)
    assert from_webhook.current_period_end is not None
    fields = (
        "status",
        "current_period_start",
        "current_period_end",
        "cancel_at_period_end",
        "trial_end",
        "paid_through",
        "account_id",
        "tier",
    )
    assert [getattr(from_webhook, f) for f in fields] == [getattr(from_api, f) for f in fields]


def test_the_sandbox_answers_the_shape_the_api_version_date_names(
    sandbox_app, account, inbox
) -> None:
    buy(sandbox_app.test_client(), account)
    membership_id = stored().provider_subscription_id
    url = f"{PUBLIC_URL}/_sandbox/whop/api/v1/memberships/{membership_id}"
    key = {"Authorization": f"Bearer {whop_settings().api_key}"}
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox_app)) as http:
        v1 = http.get(url, headers=key).json()
        dated = http.get(url, headers={**key, "Api-Version-Date": "2026-10-15-1"}).json()
    assert "renewal_period_end" in v1 and "current_period_end" not in v1
    assert "current_period_end" in dated and "renewal_period_end" not in dated
    # The pinned client reads its shape; a client that names no version gets v1, which the
    # current SDK cannot read: that is why tiergate pins the version.
    assert get_provider("whop").fetch_subscription(membership_id).current_period_end
    unpinned = WhopProvider(replace(whop_settings(), api_version_date=None))
    with pytest.raises(ProviderError, match="cannot read"):
        unpinned.fetch_subscription(membership_id)


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_a_one_time_plan_is_sold_and_grants_with_no_end(sandbox_app, account, inbox, shape):
    sandbox_app.config["TIERGATE_SANDBOX_WHOP_ONE_TIME_PRODUCTS"] = "prod_enterprise"
    sandbox_app.config["TIERGATE_SANDBOX_WHOP_SHAPE"] = shape
    price = get_provider("whop").list_prices(("prod_enterprise",))["prod_enterprise"]
    assert price.interval is None  # priced from the plan's initial_price, once
    buy(sandbox_app.test_client(), account)
    assert inbox.last("membership.activated")["data"]["status"] == "completed"
    row = stored()
    assert (row.status, row.billing_interval, row.current_period_end) == ("active", "once", None)
    from_webhook = payload_state(inbox.last("membership.activated"))
    assert (from_webhook.status, from_webhook.current_period_end) == ("active", None)


def test_cancel_at_period_end_arrives_as_its_own_event(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    buy(client, account)
    path = get_provider("whop").portal_url(account, return_url="/").removeprefix(PUBLIC_URL)
    assert client.post(path + "/cancel", data={"when": "period_end"}).status_code == 303
    assert inbox.events[-1] == ("whop", "membership.cancel_at_period_end_changed")
    assert stored().cancel_at_period_end is True


def test_a_failed_renewal_rolls_the_period_over(sandbox_app, account, inbox) -> None:
    buy(sandbox_app.test_client(), account)
    paid_period_end = stored().current_period_end
    result = sandbox_app.test_cli_runner().invoke(
        args=["sandbox", "advance", str(account.id), "--to", "past_due"]
    )
    assert result.exit_code == 0, result.output
    row = stored()
    assert row.status == "past_due"
    assert row.current_period_start == paid_period_end < row.current_period_end
    assert row.paid_through == paid_period_end

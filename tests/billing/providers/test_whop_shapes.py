"""Whop's published membership shapes (dated, v1, v2) to tiergate's subscription state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from whop_sdk.core.pydantic_utilities import parse_obj_as
from whop_sdk.types import Membership, MembershipLegacy, Payment

from tiergate.audit.services import Actor
from tiergate.billing.models import Subscription
from tiergate.billing.providers import NotOurs, UnknownTier
from tiergate.billing.providers.config import WhopSettings
from tiergate.billing.providers.whop import HANDLED_EVENTS, WhopProvider
from tiergate.billing.services import apply_subscription_state
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.entitlements.services import entitlements_for

from ...accounts.factories import make_account, make_catalog
from . import whop_fixtures as fixtures
from .whop_fixtures import at

#: Webhook secrets only: states come from the events' own payloads.
WHOP = WhopProvider(WhopSettings(api_key=None, webhook_secrets=("ws_x",)))
#: The fields both shapes must agree on.
COMPARED = (
    "provider_subscription_id",
    "provider_customer_id",
    "account_id",
    "tier",
    "status",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "trial_end",
    "paid_through",
    "quantity",
    "provider_updated_at",
)


@pytest.fixture
def account(app):
    make_catalog()
    return make_account("acme")


def enterprise() -> SubscriptionTier:
    return db.session.query(SubscriptionTier).filter_by(key="enterprise").one()


def state_of(name: str, account, **changes):
    [state] = WHOP.states_from_event(fixtures.event(name, account.id, **changes))
    return state


def compared(state) -> tuple:
    return tuple(getattr(state, name) for name in COMPARED)


@pytest.mark.parametrize("name", fixtures.names())
def test_every_fixture_says_where_its_shape_comes_from(name) -> None:
    source = fixtures.raw(name)["_source"]
    assert "whop" in source.lower() and len(source) > 40


@pytest.mark.parametrize("name", [n for n in fixtures.names() if not n.startswith("v2_")])
def test_fixtures_parse_as_the_published_sdk_types(name) -> None:
    """The dated fixtures are whop-sdk's Membership/Payment; the v1 ones its MembershipLegacy."""
    data = fixtures.body(name, 1)["data"]
    published = Payment if "payment" in name else Membership
    if name.startswith("v1_"):
        published = MembershipLegacy
        assert "current_period_end" not in data and "renewal_period_end" in data
    parse_obj_as(published, data)  # raises on a missing or mistyped field


@pytest.mark.parametrize(
    "scenario",
    [
        "membership_activated",
        "membership_past_due",
        "membership_cancel_at_period_end_changed",
        "membership_deactivated",
    ],
)
def test_v1_and_dated_shapes_give_the_same_state(account, scenario) -> None:
    dated = state_of(f"dated_{scenario}", account)
    v1 = state_of(f"v1_{scenario}", account)
    assert compared(v1) == compared(dated)
    assert dated.current_period_end is not None  # the v1 shape's renewal_period_end is read
    assert dated.billing_interval == "month"  # billing_period_days 30
    assert v1.billing_interval is None  # the v1 shape names no interval


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_periods_and_trial_end_come_from_either_shape(account, shape) -> None:
    active = state_of(f"{shape}_membership_activated", account)
    assert (active.status, active.tier) == ("active", enterprise().id)
    assert active.current_period_start == at("2026-03-01T00:00:00")
    assert active.current_period_end == at("2026-04-01T00:00:00")
    assert active.paid_through == at("2026-04-01T00:00:00")
    assert active.trial_end is None
    trialing = state_of(f"{shape}_membership_activated", account, status="trialing")
    assert (trialing.status, trialing.trial_end) == ("trialing", at("2026-04-01T00:00:00"))


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_past_due_is_paid_through_the_start_of_the_unpaid_period(account, shape) -> None:
    state = state_of(f"{shape}_membership_past_due", account)
    assert state.status == "past_due"
    # The renewal failed and the period rolled over: the last paid period ended at its start.
    assert state.current_period_end == at("2026-05-01T00:00:00")
    assert state.paid_through == state.current_period_start == at("2026-04-01T00:00:00")
    grace_ends = state.paid_through + timedelta(days=7)
    assert grace_ends == at("2026-04-08T00:00:00")  # not 2026-05-08, from the period end


def test_past_due_grace_runs_out_a_week_after_the_paid_through_date(account) -> None:
    apply_subscription_state(
        state_of("dated_membership_past_due", account), actor=Actor.provider("whop", "msg_1")
    )
    db.session.flush()
    assert entitlements_for(account, now=at("2026-04-07T23:00:00")).tier.key == "enterprise"
    lapsed = entitlements_for(account, now=at("2026-04-08T01:00:00"))
    assert lapsed.fallback_reason == "past_due_grace_expired"


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_cancel_at_period_end_changed_is_handled_and_resume_is_too(account, shape) -> None:
    name = f"{shape}_membership_cancel_at_period_end_changed"
    assert "membership.cancel_at_period_end_changed" in HANDLED_EVENTS
    actor = Actor.provider("whop", "msg_1")
    apply_subscription_state(state_of(f"{shape}_membership_activated", account), actor=actor)
    canceling = state_of(name, account)
    assert (canceling.status, canceling.cancel_at_period_end) == ("active", True)
    apply_subscription_state(canceling, actor=actor)
    stored = db.session.query(Subscription).filter_by(provider="whop").one()
    assert stored.cancel_at_period_end is True
    # Resumed before the period ends: Whop sends the same event with the flag cleared.
    resumed = state_of(name, account, cancel_at_period_end=False)
    resumed = replace(resumed, provider_updated_at=resumed.provider_updated_at + timedelta(hours=1))
    apply_subscription_state(resumed, actor=actor)
    assert stored.cancel_at_period_end is False
    assert entitlements_for(account, now=at("2026-04-01T12:00:00")).tier.key == "enterprise"


def test_a_dated_one_time_purchase_grants_with_no_end(account) -> None:
    state = state_of("dated_membership_activated_one_time", account)
    assert (state.status, state.billing_interval) == ("active", "once")
    assert (state.current_period_end, state.paid_through) == (None, None)
    assert state.cancel_at_period_end is False
    apply_subscription_state(state, actor=Actor.provider("whop", "msg_1"))
    db.session.flush()
    assert entitlements_for(account, now=at("2031-01-01T00:00:00")).tier.key == "enterprise"


def test_a_v2_one_time_purchase_completed_and_valid_grants(account) -> None:
    event = fixtures.event("v2_membership_went_valid_one_time", account.id)
    assert event.type == "membership.went_valid"  # read from "action"
    [state] = WHOP.states_from_event(event)
    assert (state.status, state.billing_interval, state.quantity) == ("active", "once", 1)
    assert state.current_period_end is None
    three = fixtures.event("v2_membership_went_valid_one_time", account.id, quantity=3)
    assert WHOP.states_from_event(three)[0].quantity == 3


def test_a_completed_purchase_that_is_no_longer_valid_does_not_grant(account) -> None:
    [state] = WHOP.states_from_event(
        fixtures.event("v2_membership_went_invalid_one_time", account.id)
    )
    assert state.status == "expired"
    apply_subscription_state(state, actor=Actor.provider("whop", "msg_1"))
    db.session.flush()
    assert entitlements_for(account, now=at("2026-03-02T00:00:00")).tier.key != "enterprise"


def test_a_one_time_purchase_with_an_expiry_ends_there(account) -> None:
    state = state_of(
        "dated_membership_activated_one_time", account, expires_at="2027-03-01T00:00:00.000Z"
    )
    assert (state.status, state.current_period_end) == ("active", at("2027-03-01T00:00:00"))
    assert state.cancel_at_period_end is True


def test_a_foreign_product_is_not_ours(account) -> None:
    with pytest.raises(NotOurs, match="not tiergate's.*prod_xxxxxxxxxxxxx' is not in the catalog"):
        WHOP.states_from_event(fixtures.event("dated_membership_activated_foreign_product"))


def test_an_unknown_product_with_tiergate_metadata_stays_a_replayable_failure(account) -> None:
    metadata = {"tiergate_account_id": str(account.id)}
    event = fixtures.event("dated_membership_activated_foreign_product", metadata=metadata)
    with pytest.raises(UnknownTier, match="no tier has the Whop product 'prod_xxxxxxxxxxxxx'"):
        WHOP.states_from_event(event)


def test_an_unknown_product_of_a_stored_membership_stays_a_replayable_failure(account) -> None:
    state = state_of("dated_membership_activated", account)
    apply_subscription_state(
        replace(state, provider_subscription_id="mem_foreignxxxxxx"),
        actor=Actor.provider("whop", "msg_1"),
    )
    with pytest.raises(UnknownTier):
        WHOP.states_from_event(fixtures.event("dated_membership_activated_foreign_product"))


@pytest.mark.parametrize("shape", ["dated", "v1"])
def test_the_yearly_product_sells_the_same_tier_yearly(account, shape) -> None:
    enterprise().whop_yearly_product_key = "prod_enterprise_yearly"
    db.session.flush()
    yearly = {"product_id": "prod_enterprise_yearly"} if shape == "dated" else {}
    yearly["product"] = {"id": "prod_enterprise_yearly", "title": "Pickaxe Analytics (yearly)"}
    if shape == "dated":
        yearly["billing_period_days"] = 365
    state = state_of(f"{shape}_membership_activated", account, **yearly)
    assert (state.tier, state.billing_interval) == (enterprise().id, "year")

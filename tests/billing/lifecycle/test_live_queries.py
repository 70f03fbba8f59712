"""One definition of a live paid subscription, and its queries, on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Account
from tiergate.billing.lifecycle.live import (
    double_billed_accounts,
    live_paid_subscriptions,
    plan_subscription,
)
from tiergate.billing.lifecycle.settle import accounts_to_settle, needs_settling, superseded
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.errors import ConfigurationError

from ...accounts.factories import DAY, NOW, make_account, make_catalog, subscribe
from ...conftest import make_app


def flagged() -> set[int]:
    """The accounts whose billed_twice flag is set, read from the database."""
    db.session.expire_all()
    return set(db.session.scalars(sa.select(Account.id).where(Account.billed_twice == sa.true())))


def _pro() -> SubscriptionTier:
    return db.session.scalars(
        sa.select(SubscriptionTier).where(SubscriptionTier.key == "pro")
    ).one()


def test_live_paid_subscriptions_and_double_billing(any_backend_app) -> None:
    make_catalog()
    acme, solo, ending, lapsed, addon = (
        make_account(slug) for slug in ("acme", "solo", "ending", "lapsed", "addon")
    )
    subscribe(acme, "pro", subscription_id="sub_old", updated_at=NOW - 2 * DAY)
    subscribe(acme, "enterprise", provider="whop", subscription_id="mem_new")
    subscribe(solo, "team", status="past_due", subscription_id="sub_solo")
    subscribe(ending, "pro", subscription_id="sub_e1", cancel_at_period_end=True)
    subscribe(ending, "team", subscription_id="sub_e2")
    subscribe(lapsed, "pro", status="canceled", subscription_id="sub_l1")
    subscribe(lapsed, "team", status="incomplete", subscription_id="sub_l2")
    assert flagged() == {acme.id} == set(db.session.scalars(double_billed_accounts()))
    _pro().is_addon = True  # as the catalog's services change a tier
    db.session.commit()
    assert flagged() == set()  # acme's Pro is no plan now: one renewing plan left
    subscribe(addon, "pro", subscription_id="sub_addon")
    subscribe(addon, "team", subscription_id="sub_plan")

    ids = {
        a.slug: [s.provider_subscription_id for s in live_paid_subscriptions(a.id)]
        for a in (acme, solo, ending, lapsed, addon)
    }
    # Pro is an add-on from here on: it is no plan, so neither live paid nor double billing.
    assert ids == {
        "acme": ["mem_new"],
        "solo": ["sub_solo"],
        "ending": ["sub_e2"],
        "lapsed": [],
        "addon": ["sub_plan"],
    }
    _pro().is_addon = False
    db.session.commit()
    assert [s.provider_subscription_id for s in live_paid_subscriptions(acme.id)] == [
        "sub_old",
        "mem_new",
    ]
    assert plan_subscription(acme.id).provider_subscription_id == "mem_new"
    assert plan_subscription(ending.id).provider_subscription_id == "sub_e2"
    assert plan_subscription(lapsed.id) is None
    assert set(db.session.scalars(double_billed_accounts())) == {acme.id, addon.id}
    assert flagged() == {acme.id, addon.id}  # the flag the console reads agrees
    # Two renewing subscriptions without a switch's intent: shown, never ended automatically.
    assert superseded(acme.id) == []
    assert superseded(solo.id) == []
    switch = make_account("switch")
    subscribe(switch, "pro", subscription_id="sub_sw_old", updated_at=NOW - 2 * DAY)
    replaces = {"replaces": "stripe:sub_sw_old", "provider": "whop"}
    subscribe(switch, "enterprise", status="incomplete", subscription_id="mem_sw", **replaces)
    assert superseded(switch.id) == []  # it does not grant yet: nothing is replaced
    subscribe(switch, "enterprise", subscription_id="mem_sw", updated_at=NOW, **replaces)
    assert [s.provider_subscription_id for s in superseded(switch.id)] == ["sub_sw_old"]
    assert [needs_settling(a.id) for a in (acme, solo, ending, lapsed, switch)] == [
        False,
        False,
        False,
        False,
        True,
    ]
    assert accounts_to_settle() == [switch.id]
    # Once the successor is itself set to end, the replaced one is the customer's to keep.
    subscribe(
        switch,
        "enterprise",
        subscription_id="mem_sw",
        updated_at=NOW + DAY,
        cancel_at_period_end=True,
        **replaces,
    )
    assert superseded(switch.id) == []


def test_an_unknown_proration_behaviour_is_refused_at_start_up(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="use one of create_prorations, always_invoice"):
        make_app(
            f"sqlite:///{tmp_path / 'x.sqlite3'}",
            TIERGATE_STRIPE_PRORATION_BEHAVIOR="prorate_please",
        )

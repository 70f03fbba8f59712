"""Past-due grace from the paid-through date, kept across roll-overs; same-second states."""

from __future__ import annotations

import pytest

from tiergate.audit.services import Actor
from tiergate.billing.services import (
    Outcome,
    SubscriptionState,
    apply_subscription_state,
    grant_exempt_tier,
    revoke_exempt_tier,
)
from tiergate.db import db
from tiergate.entitlements.services import fresh_entitlements

from ..accounts.factories import DAY, NOW, make_account, make_catalog, make_user

STRIPE = Actor.provider("stripe", "evt_test")
MONTH = 30 * DAY
P1_END = NOW  # the renewal that failed
P2_END = P1_END + MONTH


@pytest.fixture
def account(app):
    make_catalog()
    return make_account("acme")


def state(account, **changes) -> SubscriptionState:
    values = {
        "provider": "stripe",
        "provider_subscription_id": "sub_1",
        "account_id": account.id,
        "tier": "pro",
        "status": "active",
        "provider_updated_at": NOW - MONTH,
        "current_period_start": P1_END - MONTH,
        "current_period_end": P1_END,
        "paid_through": P1_END,
    }
    return SubscriptionState(**{**values, **changes})


def apply(account, **changes):
    result = apply_subscription_state(state(account, **changes), actor=STRIPE)
    db.session.commit()
    return result


def past_due(account, period: int, at_offset: int = 0, status: str = "past_due") -> dict:
    """The state Stripe shows after the renewal starting period ``period`` failed."""
    start = P1_END + (period - 2) * MONTH
    return {
        "status": status,
        "current_period_start": start,
        "current_period_end": start + MONTH,
        "paid_through": start,
        "provider_updated_at": start + DAY + at_offset * DAY,
    }


def tier_at(account, when) -> tuple[str | None, str | None]:
    result = fresh_entitlements(account, now=when)
    return result.tier_key, result.fallback_reason


def test_grace_counts_from_paid_through_not_the_rolled_over_period_end(account) -> None:
    apply(account)
    apply(account, **past_due(account, 2))
    assert tier_at(account, P1_END + 7 * DAY - DAY / 24) == ("pro", None)
    assert tier_at(account, P1_END + 7 * DAY) == ("free", "past_due_grace_expired")
    # counted from current_period_end it would still grant here
    assert tier_at(account, P2_END) == ("free", "past_due_grace_expired")


def test_without_a_paid_through_date_grace_counts_from_the_period_end(account) -> None:
    apply(account, status="past_due", paid_through=None, current_period_end=P1_END)
    assert tier_at(account, P1_END + 6 * DAY) == ("pro", None)
    assert tier_at(account, P1_END + 8 * DAY) == ("free", "past_due_grace_expired")


@pytest.mark.parametrize("later", ["past_due", "unpaid"])
def test_paid_through_stays_put_while_in_arrears(account, later) -> None:
    apply(account)
    apply(account, **past_due(account, 2))
    result = apply(account, **past_due(account, 3, status=later))
    assert result.outcome is Outcome.UPDATED
    assert result.subscription.paid_through == P1_END
    assert result.subscription.current_period_end == P2_END + MONTH
    # Grace does not start again with the new period.
    assert tier_at(account, P2_END + DAY)[0] == "free"


def test_a_paid_state_moves_paid_through_forward_and_a_new_arrears_starts_afresh(account) -> None:
    apply(account, **past_due(account, 2))
    paid = apply(
        account,
        status="active",
        current_period_start=P1_END,
        current_period_end=P2_END,
        paid_through=P2_END,
        provider_updated_at=P1_END + 3 * DAY,
    )
    assert paid.subscription.paid_through == P2_END
    again = apply(account, **past_due(account, 3))
    assert again.subscription.paid_through == P2_END
    assert tier_at(account, P2_END + 6 * DAY)[0] == "pro"


def test_arrears_two_periods_apart_do_not_continue_each_other(account) -> None:
    # Failed at period 2, then renewed and paid (a state that arrives last), then failed at
    # period 4: the renewal in between was paid, so period 4's grace runs from its own start,
    # whether or not the paid state came before it.
    apply(account, **past_due(account, 2))
    later = apply(account, **past_due(account, 4))
    assert later.subscription.paid_through == P2_END + MONTH
    assert tier_at(account, P2_END + MONTH + 6 * DAY)[0] == "pro"


@pytest.mark.parametrize("order", ["incomplete_first", "active_first"])
def test_a_same_second_tie_goes_to_the_later_lifecycle_stage(account, order) -> None:
    incomplete = {"status": "incomplete", "paid_through": None, "provider_updated_at": NOW}
    active = {"status": "active", "provider_updated_at": NOW}
    first, second = (incomplete, active) if order == "incomplete_first" else (active, incomplete)
    apply(account, **first)
    result = apply(account, **second)
    assert result.subscription.status == "active"
    assert result.outcome is (Outcome.UPDATED if order == "incomplete_first" else Outcome.STALE)


def test_a_later_period_wins_a_tie_over_a_later_status(account) -> None:
    apply(account, **{**past_due(account, 2), "provider_updated_at": NOW})
    renewed = apply(
        account,
        status="active",
        current_period_start=P2_END,
        current_period_end=P2_END + MONTH,
        paid_through=P2_END + MONTH,
        provider_updated_at=NOW,
    )
    assert renewed.outcome is Outcome.UPDATED


def test_a_fetched_state_wins_a_tie_even_going_back_in_the_lifecycle(account) -> None:
    apply(account, **{**past_due(account, 2), "provider_updated_at": NOW})
    stale = apply(account, status="active", current_period_start=P1_END, provider_updated_at=NOW)
    assert stale.outcome is Outcome.STALE
    fetched = apply_subscription_state(
        state(
            account,
            status="active",
            current_period_start=P1_END,
            current_period_end=P2_END,
            paid_through=P2_END,
            provider_updated_at=NOW,
            fetched=True,
        ),
        actor=STRIPE,
    )
    assert (fetched.outcome, fetched.subscription.status) == (Outcome.UPDATED, "active")


def test_an_exempt_grant_revoked_and_granted_again_in_one_second(account) -> None:
    actor = Actor.user(make_user("staff@example.test", staff=True))
    grant_exempt_tier(account, "partner", actor=actor, reason="deal", now=NOW)
    revoke_exempt_tier(account, actor=actor, reason="ended", now=NOW)
    result = grant_exempt_tier(account, "partner", actor=actor, reason="deal again", now=NOW)
    db.session.commit()
    assert (result.outcome, result.subscription.status) == (Outcome.UPDATED, "active")

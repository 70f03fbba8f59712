"""apply_subscription_state: the only writer of subscriptions; exempt grants go through it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tiergate.audit.models import AuditEvent
from tiergate.audit.services import Actor
from tiergate.billing.models import Subscription
from tiergate.billing.services import (
    Outcome,
    SubscriptionState,
    apply_subscription_state,
    grant_exempt_tier,
    revoke_exempt_tier,
)
from tiergate.db import db
from tiergate.errors import NotFound, ValidationError

from ..accounts.factories import DAY, NOW, SYSTEM, make_account, make_catalog, make_user

STRIPE = Actor.provider("stripe", "evt_1")


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
        "provider_updated_at": NOW,
        "current_period_end": NOW + 30 * DAY,
        "provider_customer_id": "cus_1",
    }
    return SubscriptionState(**{**values, **changes})


def subscription_events() -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.target_type == "subscription")
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_first_state_creates_the_subscription_and_one_audit_event(account):
    result = apply_subscription_state(state(account), actor=STRIPE)
    db.session.commit()
    assert result.outcome is Outcome.CREATED
    stored = db.session.scalars(sa.select(Subscription)).one()
    assert (stored.tier.key, stored.status, stored.provider_customer_id) == (
        "pro",
        "active",
        "cus_1",
    )
    assert stored.provider_updated_at == NOW
    [event] = subscription_events()
    assert (event.action, event.actor_type, event.actor_label) == (
        "subscription.created",
        "provider",
        "stripe",
    )
    assert event.before is None and event.after["status"] == "active"


def test_the_same_state_twice_changes_nothing(account):
    apply_subscription_state(state(account), actor=STRIPE)
    db.session.commit()
    result = apply_subscription_state(state(account), actor=STRIPE)
    db.session.commit()
    assert result.outcome is Outcome.UNCHANGED
    assert len(subscription_events()) == 1


def test_sub_second_differences_are_a_replay(account):
    apply_subscription_state(state(account), actor=STRIPE)
    db.session.commit()
    replay = state(account, provider_updated_at=NOW.replace(microsecond=500_000))
    assert apply_subscription_state(replay, actor=STRIPE).outcome is Outcome.UNCHANGED


def test_a_newer_state_updates_and_records_before_and_after(account):
    apply_subscription_state(state(account), actor=STRIPE)
    result = apply_subscription_state(
        state(account, status="past_due", provider_updated_at=NOW + DAY), actor=STRIPE
    )
    db.session.commit()
    assert (result.outcome, result.changed) == (Outcome.UPDATED, ("status",))
    events = subscription_events()
    assert [e.action for e in events] == ["subscription.created", "subscription.updated"]
    assert (events[1].before["status"], events[1].after["status"]) == ("active", "past_due")


def test_an_older_state_is_ignored(account):
    apply_subscription_state(state(account, provider_updated_at=NOW + DAY), actor=STRIPE)
    db.session.commit()
    result = apply_subscription_state(
        state(account, status="canceled", provider_updated_at=NOW), actor=STRIPE
    )
    db.session.commit()
    assert result.outcome is Outcome.STALE
    assert db.session.scalars(sa.select(Subscription)).one().status == "active"
    assert len(subscription_events()) == 1


def test_same_timestamp_with_a_different_state_is_applied(account):
    apply_subscription_state(state(account), actor=STRIPE)
    result = apply_subscription_state(state(account, cancel_at_period_end=True), actor=STRIPE)
    assert result.outcome is Outcome.UPDATED


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"tier": "platinum"}, NotFound, "unknown tier 'platinum'"),
        ({"status": "happy"}, ValidationError, "unknown subscription status"),
        ({"provider": "paypal"}, ValidationError, "unknown provider"),
        ({"account_id": 999_999}, NotFound, "no account"),
    ],
)
def test_bad_states_are_refused_and_change_nothing(account, changes, error, message):
    with pytest.raises(error, match=message):
        apply_subscription_state(state(account, **changes), actor=STRIPE)
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


def test_naive_datetimes_are_refused(account):
    with pytest.raises(ValidationError, match="naive"):
        state(account, provider_updated_at=datetime(2026, 1, 1))


def test_a_staff_grant_records_who_why_and_until_when(account):
    staff = make_user("admin@tiergate.test", staff=True)
    expires = datetime(2026, 6, 1, tzinfo=UTC)
    result = grant_exempt_tier(
        account,
        "partner",
        actor=Actor.user(staff),
        reason="design partner",
        expires_at=expires,
        now=NOW,
    )
    db.session.commit()
    grant = result.subscription
    assert (grant.provider, grant.status, grant.tier.key) == ("exempt", "active", "partner")
    assert (grant.granted_by_id, grant.grant_reason, grant.grant_expires_at) == (
        staff.id,
        "design partner",
        expires,
    )
    [event] = subscription_events()
    assert (event.action, event.actor_type, event.actor_id) == (
        "subscription.granted",
        "user",
        str(staff.id),
    )


def test_granting_again_replaces_the_exempt_grant(account):
    grant_exempt_tier(account, "partner", actor=SYSTEM, reason="pilot", now=NOW)
    grant_exempt_tier(account, "staff", actor=SYSTEM, reason="internal", now=NOW + DAY)
    db.session.commit()
    grants = db.session.scalars(sa.select(Subscription)).all()
    assert [(g.tier.key, g.grant_reason) for g in grants] == [("staff", "internal")]


@pytest.mark.parametrize(
    ("tier", "reason", "expires_at", "message"),
    [
        ("platinum", "x", None, "There is no tier “platinum”"),
        ("", "x", None, "Choose the tier to grant"),
        ("pro", "x", None, "sold through stripe"),
        ("enterprise", "x", None, "sold through whop"),
        ("partner", "  ", None, "needs a reason"),
        ("partner", "x", NOW - DAY, "not in the future"),
    ],
)
def test_invalid_grants_are_refused_with_a_clear_message(
    account, tier, reason, expires_at, message
):
    with pytest.raises(ValidationError, match=message):
        grant_exempt_tier(
            account, tier, actor=SYSTEM, reason=reason, expires_at=expires_at, now=NOW
        )
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
    assert subscription_events() == []


def test_revoke_ends_the_grant_with_the_reason_in_the_audit_log(account):
    grant_exempt_tier(account, "partner", actor=SYSTEM, reason="pilot", now=NOW)
    result = revoke_exempt_tier(account, actor=SYSTEM, reason="pilot over", now=NOW + DAY)
    db.session.commit()
    assert (result.outcome, result.subscription.status) == (Outcome.UPDATED, "canceled")
    event = subscription_events()[-1]
    assert (event.action, event.after["note"], event.after["status"]) == (
        "subscription.revoked",
        "pilot over",
        "canceled",
    )


def test_revoke_without_a_grant_is_refused(account):
    with pytest.raises(NotFound, match="no active exempt grant"):
        revoke_exempt_tier(account, actor=SYSTEM, reason="nothing to revoke")


def test_apply_works_on_every_backend(any_backend_app):
    make_catalog()
    account = make_account("acme")
    first = apply_subscription_state(state(account), actor=STRIPE)
    db.session.commit()
    again = apply_subscription_state(state(account), actor=STRIPE)
    older = apply_subscription_state(state(account, provider_updated_at=NOW - DAY), actor=STRIPE)
    db.session.commit()
    assert [first.outcome, again.outcome, older.outcome] == [
        Outcome.CREATED,
        Outcome.UNCHANGED,
        Outcome.STALE,
    ]
    assert db.session.scalars(sa.select(Subscription)).one().current_period_end == NOW + 30 * DAY

"""Stripe's real payload shapes through the signed endpoint, without an API key.

Every payload is built from Stripe's published fixtures (tests/billing/fixtures/stripe/):
the current API (period on the item) and 2024-06-20 (period on the subscription),
Checkout's same-second created/updated pair, a renewal that fails after the period rolled
over, a foreign price, and tiergate's own subscription with a price the catalog lacks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.catalog import services as catalog
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db
from tiergate.entitlements.services import fresh_entitlements

from ...accounts.factories import make_account
from ..fixtures import stripe as fx
from .support import deliver, inbox, subscription_audit

AT = 1_767_268_800  # 2026-01-01 12:00 UTC: the purchase
P1_END = AT + fx.MONTH  # the first renewal, which fails
P2_END = P1_END + fx.MONTH  # the second renewal (Stripe leaves the subscription past_due)
DAY = 86400


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@pytest.fixture
def acme(inbox_app):
    return make_account("acme")


def stored(sub_id: str = "sub_fx") -> Subscription:
    db.session.rollback()  # the endpoint committed in its own session
    return db.session.scalars(
        sa.select(Subscription).where(Subscription.provider_subscription_id == sub_id)
    ).one()


def tier_at(account, seconds: int) -> tuple[str | None, str | None]:
    db.session.rollback()
    entitlements = fresh_entitlements(account, now=at(seconds))
    return entitlements.tier_key, entitlements.fallback_reason


def send(client, payload: dict) -> int:
    return deliver(client, "stripe", payload).status_code


def paid_pro(account, *, api: str = fx.CURRENT) -> dict:
    return fx.subscription(
        "sub_fx",
        status="active",
        period=(AT, P1_END),
        lookup_key="pro_monthly",
        metadata=fx.tiergate_metadata(account.id, "pro"),
        customer=f"cus_{account.id}",
        api=api,
    )


@pytest.mark.parametrize("api", [fx.CURRENT, fx.OLDER])
def test_both_api_versions_give_the_period_interval_and_quantity(inbox_app, acme, api) -> None:
    sub = paid_pro(acme, api=api)
    sub["items"]["data"][0]["quantity"] = 4
    payload = fx.event("evt_1", "customer.subscription.updated", sub, created=AT)
    assert deliver(inbox_app.test_client(), "stripe", payload).status_code == 200
    row = stored()
    assert (row.tier.key, row.status, row.quantity, row.billing_interval) == (
        "pro",
        "active",
        4,
        "month",
    )
    assert (row.current_period_start, row.current_period_end) == (at(AT), at(P1_END))
    assert row.paid_through == at(P1_END)


def test_a_yearly_lookup_key_names_its_tier(inbox_app, acme) -> None:
    team = db.session.scalars(sa.select(SubscriptionTier).filter_by(key="team")).one()
    team.stripe_yearly_lookup_key = "team_yearly"
    db.session.commit()
    sub = fx.subscription(
        "sub_fx",
        status="active",
        period=(AT, AT + 365 * DAY),
        lookup_key="team_yearly",
        interval="year",
        metadata=fx.tiergate_metadata(acme.id, "team"),
    )
    payload = fx.event("evt_1", "customer.subscription.created", sub, created=AT)
    assert deliver(inbox_app.test_client(), "stripe", payload).status_code == 200
    assert (stored().tier.key, stored().billing_interval) == ("team", "year")


@pytest.mark.parametrize("api", [fx.CURRENT, fx.OLDER])
def test_past_due_grace_runs_from_the_paid_through_date(inbox_app, acme, api) -> None:
    client = inbox_app.test_client()
    sub = paid_pro(acme, api=api)
    assert send(client, fx.event("evt_0", "customer.subscription.created", sub, created=AT)) == 200

    # The renewal at P1_END fails: Stripe has already rolled the period over to it.
    past_due, failed, updated = fx.renewal_failure(sub, at=P1_END + 3600, api=api)
    assert fx.period_of(past_due) == (P1_END, P2_END)
    for payload in (failed, updated):
        assert deliver(client, "stripe", payload).status_code == 200
    row = stored()
    assert (row.status, row.current_period_end, row.paid_through) == (
        "past_due",
        at(P2_END),
        at(P1_END),
    )
    # 7 days of grace from the end of the paid period, not from the rolled-over period end.
    assert tier_at(acme, P1_END + 6 * DAY) == ("pro", None)
    assert tier_at(acme, P1_END + 8 * DAY) == ("free", "past_due_grace_expired")
    assert tier_at(acme, P2_END + 6 * DAY) == ("free", "past_due_grace_expired")

    # Stripe leaves it past_due and renews it again: the grace does not start over.
    again, failed, updated = fx.renewal_failure(past_due, at=P2_END + 3600, number=2, api=api)
    for payload in (failed, updated):
        assert deliver(client, "stripe", payload).status_code == 200
    assert (stored().current_period_end, stored().paid_through) == (
        at(P2_END + fx.MONTH),
        at(P1_END),
    )
    assert tier_at(acme, P2_END + 2 * DAY) == ("free", "past_due_grace_expired")

    # The customer pays: paid through the current period, access is back at once.
    paid = {**again, "status": "active"}
    payload = fx.event("evt_paid", "customer.subscription.updated", paid, created=P2_END + DAY)
    assert deliver(client, "stripe", payload).status_code == 200
    assert stored().paid_through == at(P2_END + fx.MONTH)
    assert tier_at(acme, P2_END + 2 * DAY) == ("pro", None)


@pytest.mark.parametrize("order", ["created_first", "updated_first"])
def test_a_checkouts_same_second_pair_ends_active_in_either_order(inbox_app, acme, order) -> None:
    created, updated = fx.checkout_pair(
        "sub_fx", acme.id, tier_key="pro", lookup_key="pro_monthly", at=AT
    )
    assert created["created"] == updated["created"]
    assert created["data"]["object"]["status"] == "incomplete"
    pair = [created, updated] if order == "created_first" else [updated, created]
    client = inbox_app.test_client()
    assert [deliver(client, "stripe", payload).status_code for payload in pair] == [200, 200]
    assert (stored().status, stored().provider_updated_at) == ("active", at(AT))
    assert tier_at(acme, AT + DAY) == ("pro", None)
    assert {row.status for row in inbox().values()} == {"processed"}
    # Delivered again, in the other order: nothing moves.
    for payload in reversed(pair):
        assert deliver(client, "stripe", payload).json["duplicate"] is True
    assert stored().status == "active"


def test_an_invoice_names_its_subscription_in_both_api_versions(inbox_app, acme) -> None:
    from tiergate.billing.providers import Event
    from tiergate.billing.providers.stripe_mapping import subscription_id_of

    for api in (fx.CURRENT, fx.OLDER):
        invoice = fx.invoice(paid_pro(acme, api=api), paid=False, invoice_id="in_1", api=api)
        event = Event("stripe", "evt_1", "invoice.payment_failed", at(AT), invoice, {})
        assert subscription_id_of(event) == "sub_fx", api


def foreign_subscription() -> dict:
    """Another product billed on the same Stripe account: no lookup key, no tiergate metadata."""
    return fx.subscription(
        "sub_foreign",
        status="active",
        period=(AT, P1_END),
        lookup_key=None,
        metadata={"order": "4711"},
        customer="cus_someone_else",
        product="prod_other_business",
    )


def test_an_event_for_a_foreign_price_is_recorded_and_ignored(inbox_app, acme) -> None:
    client = inbox_app.test_client()
    sub = foreign_subscription()
    types = ("customer.subscription.created", "customer.subscription.updated")
    for number, event_type in enumerate(types):
        payload = fx.event(f"evt_foreign_{number}", event_type, sub, created=AT + number)
        response = deliver(client, "stripe", payload)
        assert response.status_code == 200, response.json
        assert response.json["status"] == "ignored"
        assert response.json["reason"] == (
            "not_ours: stripe subscription sub_foreign is not tiergate's: it has no tiergate "
            "metadata, no stored subscription, no known customer, and its price price_foreign "
            "(no lookup key) is not in the catalog"
        )
    stored_events = inbox()
    assert {row.status for row in stored_events.values()} == {"ignored"}
    assert all(row.last_error.startswith("not_ours:") for row in stored_events.values())
    assert all(row.attempts == 1 for row in stored_events.values())
    db.session.rollback()
    assert db.session.scalars(sa.select(Subscription)).all() == []
    # A redelivery is a duplicate of a finished event.
    assert deliver(client, "stripe", payload).json == {
        "received": True,
        "event": payload["id"],
        "status": "ignored",
        "duplicate": True,
    }


def test_a_foreign_price_on_a_stored_subscription_is_tiergates_and_fails(inbox_app, acme) -> None:
    client = inbox_app.test_client()
    sub = paid_pro(acme)
    assert send(client, fx.event("evt_0", "customer.subscription.created", sub, created=AT)) == 200
    # Someone swapped the price in Stripe's dashboard and cleared the metadata.
    swapped = fx.subscription(
        "sub_fx", status="active", period=(AT, P1_END), lookup_key=None, metadata={}
    )
    payload = fx.event("evt_1", "customer.subscription.updated", swapped, created=AT + 60)
    response = deliver(client, "stripe", payload)
    assert response.status_code == 500
    assert inbox()["evt_1"].last_error.startswith("unknown_tier:")


def test_a_new_subscription_of_a_known_customer_is_tiergates_and_fails(inbox_app, acme) -> None:
    # Made in Stripe's dashboard for a customer tiergate knows, on a price the catalog lacks
    # yet: failed and replayable once the catalog has it, never ignored for good.
    client = inbox_app.test_client()
    assert (
        send(client, fx.event("evt_0", "customer.subscription.created", paid_pro(acme), created=AT))
        == 200
    )
    other = fx.subscription(
        "sub_dashboard",
        status="active",
        period=(AT, P1_END),
        lookup_key="gold_monthly",
        metadata={},
        customer=f"cus_{acme.id}",
    )
    payload = fx.event("evt_1", "customer.subscription.created", other, created=AT + 60)
    assert deliver(client, "stripe", payload).status_code == 500
    assert inbox()["evt_1"].status == "failed"
    assert inbox()["evt_1"].last_error.startswith("unknown_tier:")


def test_tiergates_subscription_with_an_unknown_lookup_key_fails_and_replays(
    inbox_app, acme, runner_for
) -> None:
    client = inbox_app.test_client()
    sub = fx.subscription(
        "sub_fx",
        status="active",
        period=(AT, P1_END),
        lookup_key="gold_monthly",
        metadata=fx.tiergate_metadata(acme.id, "gold"),
    )
    payload = fx.event("evt_gold", "customer.subscription.created", sub, created=AT)
    response = deliver(client, "stripe", payload)
    assert response.status_code == 500
    assert response.json["error"] == "webhook_failed"
    row = inbox()["evt_gold"]
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("unknown_tier: no tier has the Stripe price lookup key")

    catalog.create_tier("gold", "Gold", billing_provider="stripe", stripe_lookup_key="gold_monthly")
    db.session.commit()
    result = runner_for(inbox_app).invoke(args=["events", "replay", str(row.id)])
    assert result.exit_code == 0, result.output
    assert (inbox()["evt_gold"].status, stored().tier.key) == ("processed", "gold")
    assert len(subscription_audit("evt_gold")) == 1


def test_grace_is_not_measured_from_the_period_end_when_paid_through_is_known(
    inbox_app, acme
) -> None:
    """Without the paid-through date the same payloads would grant about 37 days."""
    client = inbox_app.test_client()
    sub = paid_pro(acme)
    _, failed, updated = fx.renewal_failure(sub, at=P1_END + 60)
    assert deliver(client, "stripe", updated).status_code == 200  # the update alone, first
    assert stored().paid_through == at(P1_END)
    lapse = P1_END + 7 * DAY
    assert tier_at(acme, lapse - 1) == ("pro", None)
    assert tier_at(acme, lapse) == ("free", "past_due_grace_expired")
    assert at(P2_END + 7 * DAY) - at(lapse) == timedelta(days=30)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_the_scenarios_on_the_server_backends(inbox_backend_app, backend) -> None:
    with inbox_backend_app(backend) as app:
        account = make_account("acme")
        client = app.test_client()
        created, updated = fx.checkout_pair(
            "sub_fx", account.id, tier_key="pro", lookup_key="pro_monthly", at=AT
        )
        assert [send(client, updated), send(client, created)] == [200, 200]
        sub = updated["data"]["object"]
        _, failed, past_due = fx.renewal_failure(sub, at=P1_END + 3600)
        again = fx.renewal_failure(past_due["data"]["object"], at=P2_END + 3600, number=2)
        for payload in (failed, past_due, *again[1:], foreign_event()):
            assert send(client, payload) == 200
        row = stored()
        assert (row.status, row.paid_through) == ("past_due", at(P1_END))
        assert tier_at(account, P1_END + 6 * DAY) == ("pro", None)
        assert tier_at(account, P1_END + 8 * DAY) == ("free", "past_due_grace_expired")
        assert inbox()["evt_foreign"].status == "ignored"


def foreign_event() -> dict:
    return fx.event(
        "evt_foreign", "customer.subscription.created", foreign_subscription(), created=AT
    )


def test_a_payload_naming_its_schedule_keeps_the_scheduled_change(inbox_app, acme) -> None:
    # Without an API key an event's subscription names its schedule by id only (Stripe's
    # published Subscription: ``schedule`` is an expandable id): the scheduled downgrade
    # tiergate already knows stays until a payload says the schedule is gone.
    client = inbox_app.test_client()
    assert (
        send(
            client, fx.event("evt_s1", "customer.subscription.updated", paid_pro(acme), created=AT)
        )
        == 200
    )
    free = db.session.scalars(sa.select(SubscriptionTier).where(SubscriptionTier.key == "free"))
    row = stored()
    row.scheduled_tier_id, row.scheduled_change_at = free.one().id, at(P1_END)
    db.session.commit()

    scheduled = {**paid_pro(acme), "schedule": "sub_sched_fx"}
    later = fx.event("evt_s2", "customer.subscription.updated", scheduled, created=AT + DAY)
    assert send(client, later) == 200
    assert (stored().scheduled_tier.key, stored().scheduled_change_at) == ("free", at(P1_END))

    released = {**paid_pro(acme), "schedule": None}
    last = fx.event("evt_s3", "customer.subscription.updated", released, created=AT + 2 * DAY)
    assert send(client, last) == 200
    assert (stored().scheduled_tier_id, stored().scheduled_change_at) == (None, None)


@pytest.mark.parametrize("late", [False, True])
def test_a_paid_renewal_that_arrives_late_still_counts(inbox_app, acme, late) -> None:
    """Failed, paid, failed again: grace runs from the second failure in any delivery order."""
    client = inbox_app.test_client()
    sub = paid_pro(acme)
    created = fx.event("evt_0", "customer.subscription.created", sub, created=AT)
    past_due, _failed, first_failure = fx.renewal_failure(sub, at=P1_END + 3600)
    paid = fx.event(
        "evt_paid",
        "customer.subscription.updated",
        {**past_due, "status": "active"},
        created=P1_END + DAY,
    )
    active = {**past_due, "status": "active"}
    _again, _failed, second_failure = fx.renewal_failure(active, at=P2_END + 3600, number=2)
    order = [created, first_failure, paid, second_failure]
    if late:  # the paid state arrives after the second failure: stale, yet it was paid
        order = [created, first_failure, second_failure, paid]
    for payload in order:
        assert send(client, payload) == 200
    row = stored()
    assert (row.status, row.paid_through) == ("past_due", at(P2_END))
    assert tier_at(acme, P2_END + 6 * DAY) == ("pro", None)
    assert tier_at(acme, P2_END + 8 * DAY) == ("free", "past_due_grace_expired")

"""With an API key the endpoint re-fetches each subscription from the sandbox (the real SDK).

A re-fetched object is the subscription as it is now: it is stamped now, wins a tie with a
stored state of the same second, and never loses to an older event's payload.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.audit.services import Actor
from tiergate.billing.models import Subscription
from tiergate.billing.providers import Event
from tiergate.billing.providers.config import StripeSettings
from tiergate.billing.providers.sandbox import store
from tiergate.billing.providers.sandbox.deliver import deliver
from tiergate.billing.providers.stripe import StripeProvider
from tiergate.billing.services import apply_subscription_state
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog
from ...conftest import app_on_copy
from ..fixtures import stripe as fx
from .support import inbox

PUBLIC_URL = "http://tiergate.test"


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """Sandbox on: the Stripe provider has an API key and re-fetches from the sandbox."""
    yield from app_on_copy(
        tmp_path,
        sqlite_template,
        "refetch",
        make_catalog,
        TIERGATE_SANDBOX=True,
        TIERGATE_PUBLIC_URL=PUBLIC_URL,
    )


@pytest.fixture
def acme(sandbox_app):
    return make_account("acme")


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def stored() -> Subscription:
    db.session.rollback()
    return db.session.scalars(sa.select(Subscription)).one()


def in_sandbox(sub: dict, account) -> None:
    """Make ``sub`` the sandbox's (Stripe's) current object."""
    store.put("stripe", "subscription", sub, str(account.id))
    db.session.commit()


def send(payload: dict) -> int:
    return deliver("stripe", payload).status_code  # signed, through the app's own endpoint


@pytest.mark.parametrize("order", ["created_first", "updated_first"])
def test_a_same_second_pair_ends_active_in_either_order_with_the_api(
    sandbox_app, acme, order
) -> None:
    now = int(time.time())
    created, updated = fx.checkout_pair(
        "sub_fx", acme.id, tier_key="pro", lookup_key="pro_monthly", at=now
    )
    in_sandbox(updated["data"]["object"], acme)  # Stripe has it active by now
    pair = [created, updated] if order == "created_first" else [updated, created]
    assert [send(payload) for payload in pair] == [200, 200]
    row = stored()
    assert (row.status, row.tier.key, row.paid_through) == ("active", "pro", at(now + fx.MONTH))
    assert row.provider_updated_at >= at(now)
    assert {event.status for event in inbox().values()} == {"processed"}


def test_a_refetched_state_is_stamped_now_and_beats_an_older_payload(sandbox_app, acme) -> None:
    now = int(time.time())
    sub = fx.subscription(
        "sub_fx",
        status="active",
        period=(now - fx.MONTH, now),
        lookup_key="pro_monthly",
        metadata=fx.tiergate_metadata(acme.id, "pro"),
    )
    past_due, failed, updated = fx.renewal_failure(sub, at=now)
    # The past_due payload was applied as it came, stamped with its event's second (as
    # without an API key), one second before the failed invoice's event was created.
    without_key = StripeProvider(StripeSettings(secret_key=None, webhook_secrets=("whsec_x",)))
    event = Event("stripe", "evt_x", updated["type"], at(now), past_due, updated)
    [state] = without_key.states_from_event(event)
    apply_subscription_state(state, actor=Actor.provider("stripe", "evt_x"))
    db.session.commit()
    # The customer paid since: Stripe's object is active again in the rolled-over period.
    in_sandbox({**past_due, "status": "active"}, acme)
    # Stripe redelivers the older invoice.payment_failed (created a second earlier). Its
    # re-fetch is the state now, so it applies although the event is older than the stored.
    failed["created"] = now - 1
    assert send(failed) == 200
    row = stored()
    assert row.status == "active"
    assert row.provider_updated_at >= at(now)
    assert row.paid_through == at(now + fx.MONTH)


def test_a_refetch_in_the_same_second_as_the_stored_state_wins_the_tie(sandbox_app, acme) -> None:
    now = int(time.time())
    sub = fx.subscription(
        "sub_fx",
        status="active",
        period=(now - fx.MONTH, now),
        lookup_key="pro_monthly",
        metadata=fx.tiergate_metadata(acme.id, "pro"),
    )
    past_due, failed, _ = fx.renewal_failure(sub, at=now)
    in_sandbox(past_due, acme)
    assert send(failed) == 200
    assert stored().status == "past_due"
    # Paid at once (same second): active comes before past_due in the lifecycle, yet the
    # re-fetched state is the newer one.
    in_sandbox({**past_due, "status": "active"}, acme)
    invoice = fx.invoice(past_due, paid=True, invoice_id="in_2")
    paid = fx.event("evt_paid", "invoice.paid", invoice, created=now)
    assert send(paid) == 200
    assert stored().status == "active"

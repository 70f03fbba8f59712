"""`tiergate events ...`, `tiergate reconcile ...` and `tiergate catalog check` via the runner."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.billing.models import Subscription
from tiergate.billing.providers import config as provider_config
from tiergate.billing.providers import get_provider
from tiergate.billing.providers.config import StripeSettings
from tiergate.billing.providers.sandbox import flows
from tiergate.catalog import services as catalog
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...accounts.factories import make_account, make_catalog
from ...conftest import make_app
from ..providers.fakes import FakeApi
from .support import SubState, deliver, inbox, stripe_event, whop_event

AT = 1_767_268_800


def state(account_id: int, sub: str = "sub_1", *, at: int = AT, tier: str = "pro") -> SubState:
    return SubState("stripe", sub, account_id, tier, "active", at, at + 86400)


@pytest.fixture
def delivered(inbox_app: Flask) -> dict[str, int]:
    """Four stored events: processed, ignored, failed (stripe) and processed (whop)."""
    acme = make_account("acme").id
    client = inbox_app.test_client()
    deliver(client, "stripe", stripe_event("evt_ok", state(acme)))
    deliver(client, "stripe", stripe_event("evt_other", state(acme), event_type="charge.refunded"))
    deliver(client, "stripe", stripe_event("evt_gold", state(acme, "sub_2", tier="gold")))
    whop = SubState("whop", "mem_1", acme, "enterprise", "active", AT, AT + 86400)
    deliver(client, "whop", whop_event("msg_ok", whop))
    return {event_id: row.id for event_id, row in inbox().items()}


def test_events_list_shows_newest_first_with_filters(inbox_app, delivered) -> None:
    runner = inbox_app.test_cli_runner()
    result = runner.invoke(args=["events", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()[1:]
    assert [line.split()[7] for line in lines] == ["msg_ok", "evt_gold", "evt_other", "evt_ok"]
    assert [line.split()[4] for line in lines] == ["processed", "failed", "ignored", "processed"]

    failed = runner.invoke(args=["events", "list", "--status", "failed"])
    assert failed.exit_code == 0
    assert "evt_gold" in failed.output and "evt_ok" not in failed.output
    assert "unknown_tier: no tier has the Stripe price lookup key 'gold_monthly'" in failed.output

    whop = runner.invoke(args=["events", "list", "--provider", "whop"])
    assert "msg_ok" in whop.output and "evt_" not in whop.output

    newest = runner.invoke(args=["events", "list", "--limit", "1"])
    assert len(newest.output.splitlines()) == 2 and "msg_ok" in newest.output


def test_events_list_refuses_an_unknown_status(inbox_app) -> None:
    result = inbox_app.test_cli_runner().invoke(args=["events", "list", "--status", "lost"])
    assert result.exit_code == 2
    assert "'lost' is not one of" in result.output


def test_replay_needs_exactly_one_of_an_id_and_failed(inbox_app) -> None:
    runner = inbox_app.test_cli_runner()
    for args in (["events", "replay"], ["events", "replay", "1", "--failed"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2
        assert "give an event ID or --failed" in result.output


def test_replay_refuses_unknown_and_finished_events(inbox_app, delivered) -> None:
    runner = inbox_app.test_cli_runner()
    missing = runner.invoke(args=["events", "replay", "999"])
    assert missing.exit_code == 1 and "no webhook event 999" in missing.output
    done = runner.invoke(args=["events", "replay", str(delivered["evt_ok"])])
    assert done.exit_code == 1
    assert "is already processed: there is nothing to replay" in done.output
    assert inbox()["evt_ok"].attempts == 1


def test_replay_failed_reports_what_still_fails_then_completes(inbox_app, delivered) -> None:
    runner = inbox_app.test_cli_runner()
    still = runner.invoke(args=["events", "replay", "--failed"])
    assert still.exit_code == 1
    assert "replayed 1: 0 done, 1 still failing" in still.output
    assert inbox()["evt_gold"].attempts == 2

    catalog.create_tier("gold", "Gold", billing_provider="stripe", stripe_lookup_key="gold_monthly")
    db.session.commit()
    done = runner.invoke(args=["events", "replay", "--failed", "--provider", "stripe"])
    assert done.exit_code == 0, done.output
    assert "replayed 1: 1 done, 0 still failing" in done.output
    assert {row.status for row in inbox().values()} == {"processed", "ignored"}
    assert runner.invoke(args=["events", "replay", "--failed"]).output.strip() == (
        "no failed events to replay"
    )


@pytest.fixture
def sandbox_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    path = tmp_path / "sandbox.sqlite3"
    shutil.copyfile(sqlite_template, path)
    application = make_app(
        f"sqlite:///{path}", TIERGATE_SANDBOX=True, TIERGATE_PUBLIC_URL="http://localhost"
    )
    with application.app_context():
        make_catalog()
        yield application
        db.session.remove()
        db.engine.dispose()


def paid_in_sandbox(account, tier_key: str) -> str:
    """Buy ``tier_key`` in the sandbox without delivering its events; return the id."""
    tier = catalog.get_tier(tier_key)
    provider = get_provider(tier.billing_provider)
    url = provider.start_checkout(
        account, tier, success_url="http://x/ok", cancel_url="http://x/no"
    )
    object_id = url.rsplit("/", 1)[1]
    if tier.billing_provider == "stripe":
        events = flows.pay_stripe_checkout(object_id)
    else:
        events = flows.pay_whop_checkout(object_id)
    db.session.commit()
    if tier.billing_provider == "stripe":
        return str(events[0]["data"]["object"]["id"])
    return str(events[0]["data"]["id"])


def subscriptions() -> list[tuple[str, str, str]]:
    db.session.rollback()
    rows = db.session.scalars(sa.select(Subscription).order_by(Subscription.id))
    return [(row.provider_subscription_id, row.tier.key, row.status) for row in rows]


def test_reconcile_applies_what_the_webhooks_missed(sandbox_app) -> None:
    acme, globex = make_account("acme"), make_account("globex")
    first = paid_in_sandbox(acme, "pro")
    second = paid_in_sandbox(globex, "team")
    runner = sandbox_app.test_cli_runner()

    result = runner.invoke(args=["reconcile", "stripe"])
    assert result.exit_code == 0, result.output
    assert "stripe: 2 subscriptions (2 created)" in result.output
    assert f"created   {first}: account {acme.id}, tier pro, active" in result.output
    assert sorted(subscriptions()) == sorted([(first, "pro", "active"), (second, "team", "active")])

    flows.cancel_stripe_subscription(second, at_period_end=False)
    db.session.commit()
    again = runner.invoke(args=["reconcile", "stripe"])
    assert again.exit_code == 0, again.output
    assert "stripe: 2 subscriptions (1 unchanged, 1 updated)" in again.output
    assert f"updated   {second}: account {globex.id}, tier team, canceled" in again.output
    assert (second, "team", "canceled") in subscriptions()


def test_reconcile_reports_a_subscription_it_cannot_map_and_goes_on(sandbox_app) -> None:
    acme, globex = make_account("acme"), make_account("globex")
    unmapped = paid_in_sandbox(acme, "pro")
    mapped = paid_in_sandbox(globex, "team")
    catalog.update_tier("pro", stripe_lookup_key="pro_v2")
    db.session.commit()
    result = sandbox_app.test_cli_runner().invoke(args=["reconcile", "stripe"])
    assert result.exit_code == 1
    assert "stripe: 2 subscriptions (1 created, 1 failed)" in result.output
    assert (
        f"failed    {unmapped}: unknown_tier: no tier has the Stripe price lookup key "
        "'pro_monthly'" in result.output
    )
    assert subscriptions() == [(mapped, "team", "active")]


def test_reconcile_whop_memberships(sandbox_app) -> None:
    acme = make_account("acme")
    membership = paid_in_sandbox(acme, "enterprise")
    result = sandbox_app.test_cli_runner().invoke(args=["reconcile", "whop"])
    assert result.exit_code == 0, result.output
    assert "whop: 1 subscription (1 created)" in result.output
    assert subscriptions() == [(membership, "enterprise", "active")]


def test_catalog_check_passes_against_the_sandbox(sandbox_app) -> None:
    result = sandbox_app.test_cli_runner().invoke(args=["catalog", "check"])
    assert result.exit_code == 0, result.output
    assert "ok       stripe  pro" in result.output
    assert "ok       whop    enterprise" in result.output
    assert "3 tiers checked, 0 problems" in result.output


def test_catalog_check_reports_prices_that_do_not_resolve(inbox_app, monkeypatch) -> None:
    fake = FakeApi()
    duplicate = {"id": "price_a", "object": "price", "active": True, "lookup_key": "pro_monthly"}
    fake.on(
        "GET",
        "/v1/prices",
        200,
        {"object": "list", "data": [duplicate, {**duplicate, "id": "price_b"}], "has_more": False},
    )
    settings = StripeSettings(
        "sk_test_123", (), api_base="https://stripe.test", transport=fake.transport()
    )
    monkeypatch.setattr(provider_config, "stripe_settings", lambda: settings)
    result = inbox_app.test_cli_runner().invoke(args=["catalog", "check"])
    assert result.exit_code == 1
    assert "PROBLEM  stripe  pro" in result.output
    assert "Stripe has 2 active prices with lookup key 'pro_monthly'" in result.output
    assert "PROBLEM  whop    enterprise" in result.output
    assert "Whop is not configured: set TIERGATE_WHOP_API_KEY" in result.output
    assert "3 tiers checked, 3 problems" in result.output
    assert all(request.method == "GET" for request in fake.requests)


def test_catalog_check_reports_a_tier_without_its_key_before_asking_the_provider(
    inbox_app,
) -> None:
    db.session.execute(
        sa.update(SubscriptionTier)
        .where(SubscriptionTier.key == "pro")
        .values(stripe_lookup_key=None)
    )
    db.session.commit()
    result = inbox_app.test_cli_runner().invoke(args=["catalog", "check"])
    assert result.exit_code == 1
    missing = "sold through stripe but has no stripe_lookup_key"
    assert f"PROBLEM  stripe  pro               {missing}" in result.output
    assert "PROBLEM  stripe  team              Stripe is not configured" in result.output
    assert "PROBLEM  whop    enterprise        Whop is not configured" in result.output


def test_catalog_check_with_no_tier_sold_checks_nothing(inbox_app) -> None:
    db.session.execute(sa.update(SubscriptionTier).values(billing_provider="exempt"))
    db.session.commit()
    result = inbox_app.test_cli_runner().invoke(args=["catalog", "check"])
    assert result.exit_code == 0, result.output
    assert "no tier is sold through Stripe or Whop: nothing to check" in result.output


def test_reconcile_counts_a_foreign_subscription_and_applies_nothing(sandbox_app) -> None:
    from tiergate.billing.providers.sandbox import store

    from ..fixtures import stripe as fx

    acme = make_account("acme")
    ours = paid_in_sandbox(acme, "pro")
    foreign = fx.subscription(
        "sub_foreign", status="active", period=(0, fx.MONTH), lookup_key=None, metadata={}
    )
    store.put("stripe", "subscription", foreign)
    db.session.commit()
    result = sandbox_app.test_cli_runner().invoke(args=["reconcile", "stripe"])
    assert result.exit_code == 0, result.output
    assert "stripe: 2 subscriptions (1 created, 1 not_ours)" in result.output
    assert subscriptions() == [(ours, "pro", "active")]

"""The Whop sandbox driven by the real SDK: purchase link, Pay, license key, manage, advance."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.billing.providers import get_provider
from tiergate.catalog.services import get_tier as tier
from tiergate.db import db

from ...accounts.factories import make_account
from .conftest import PUBLIC_URL


def membership() -> Subscription:
    db.session.rollback()  # a fresh SQLite snapshot: the sandbox commits in its own sessions
    return db.session.scalars(sa.select(Subscription).where(Subscription.provider == "whop")).one()


def buy(client, account) -> None:
    url = get_provider("whop").start_checkout(
        account, tier("enterprise"), success_url=f"{PUBLIC_URL}/account", cancel_url="/"
    )
    assert url.startswith(f"{PUBLIC_URL}/_sandbox/whop/checkout/ch_sbx")
    path = url.removeprefix(PUBLIC_URL)
    assert client.get(path).status_code == 200
    paid = client.post(path + "/pay")
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"{PUBLIC_URL}/account"


def test_buying_creates_the_membership_through_signed_events(sandbox_app, account, inbox) -> None:
    buy(sandbox_app.test_client(), account)
    assert inbox.events == [("whop", "membership.activated"), ("whop", "payment.succeeded")]
    stored = membership()
    assert (stored.account_id, stored.tier.key, stored.status) == (
        account.id,
        "enterprise",
        "active",
    )
    assert stored.provider_customer_id.startswith("user_sbx")


def test_license_key_of_a_sandbox_membership_attaches(sandbox_app, account, inbox) -> None:
    buy(sandbox_app.test_client(), account)
    provider = get_provider("whop")
    key = provider.client.memberships.retrieve(membership().provider_subscription_id).license_key
    other = make_account("globex")
    state = provider.attach_license_key(other, key, tier=tier("enterprise"))
    assert (state.account_id, state.provider_subscription_id, state.status) == (
        other.id,
        membership().provider_subscription_id,
        "active",
    )


def test_manage_page_cancels(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    buy(client, account)
    url = get_provider("whop").portal_url(account, return_url="/")
    path = url.removeprefix(PUBLIC_URL)
    assert b"license key LK-" in client.get(path).data
    assert client.post(path + "/cancel", data={"when": "period_end"}).status_code == 303
    assert (membership().status, membership().cancel_at_period_end) == ("active", True)
    assert client.post(path + "/cancel", data={"when": "now"}).status_code == 303
    assert membership().status == "canceled"
    assert inbox.events[-1] == ("whop", "membership.deactivated")


def test_sandbox_advance_moves_the_membership(sandbox_app, account, inbox) -> None:
    buy(sandbox_app.test_client(), account)
    runner = sandbox_app.test_cli_runner()
    for to, status in [("past_due", "past_due"), ("renewed", "active"), ("canceled", "canceled")]:
        result = runner.invoke(args=["sandbox", "advance", str(account.id), "--to", to])
        assert result.exit_code == 0, result.output
        assert membership().status == status
    assert ("whop", "payment.failed") in inbox.events


def test_listing_pages_through_the_sandbox(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    for _ in range(3):
        buy(client, account)
    provider = get_provider("whop")
    assert len({m.id for m in provider.client.memberships.list(first=1)}) == 3
    rows = list(provider.list_subscriptions())
    assert len(rows) == 3 and all(row.state is not None for row in rows)

"""The sandbox's keys are public: a visitor reaches one customer's objects, never another's."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.billing.providers import get_provider
from tiergate.billing.providers.config import SANDBOX_STRIPE_SECRET_KEY, SANDBOX_WHOP_API_KEY
from tiergate.db import db

from ...accounts.factories import make_account
from .conftest import PUBLIC_URL
from .test_stripe_sandbox import pay
from .test_whop_sandbox import buy

STRIPE_KEY = {"Authorization": f"Bearer {SANDBOX_STRIPE_SECRET_KEY}"}
WHOP_KEY = {"Authorization": f"Bearer {SANDBOX_WHOP_API_KEY}"}


def stripe_subscriptions() -> dict[int, Subscription]:
    db.session.rollback()
    rows = db.session.scalars(sa.select(Subscription).where(Subscription.provider == "stripe"))
    return {row.account_id: row for row in rows}


def test_a_portal_session_cannot_cancel_another_customers_subscription(
    sandbox_app, account, inbox
) -> None:
    client = sandbox_app.test_client()
    other = make_account("globex", owner="owner@globex.test")
    pay(client, account)
    pay(client, other)
    theirs = stripe_subscriptions()[other.id]
    url = get_provider("stripe").portal_url(account, return_url=f"{PUBLIC_URL}/account")
    path = url.removeprefix(PUBLIC_URL)
    delivered = len(inbox.events)

    for when in ("now", "period_end"):
        answer = client.post(
            path + "/cancel", data={"id": theirs.provider_subscription_id, "when": when}
        )
        assert answer.status_code == 404
    assert client.post(path + "/cancel", data={"id": "sub_nonexistent"}).status_code == 404

    after = stripe_subscriptions()[other.id]
    assert (after.status, after.cancel_at_period_end) == ("active", False)
    assert len(inbox.events) == delivered  # no event was sent either
    own = stripe_subscriptions()[account.id].provider_subscription_id
    assert client.post(path + "/cancel", data={"id": own, "when": "now"}).status_code == 303
    assert stripe_subscriptions()[account.id].status == "canceled"


def test_the_public_stripe_key_lists_one_customers_subscriptions(
    sandbox_app, account, inbox
) -> None:
    client = sandbox_app.test_client()
    other = make_account("globex", owner="owner@globex.test")
    pay(client, account)
    pay(client, other)
    mine = stripe_subscriptions()[account.id]

    everyone = client.get("/_sandbox/stripe/v1/subscriptions?status=all", headers=STRIPE_KEY)
    assert everyone.status_code == 400
    listed = client.get(
        f"/_sandbox/stripe/v1/subscriptions?customer={mine.provider_customer_id}",
        headers=STRIPE_KEY,
    )
    assert listed.status_code == 200
    assert [item["id"] for item in listed.get_json()["data"]] == [mine.provider_subscription_id]
    # The app's own client still sees every customer's (reconcile needs them).
    assert len(list(get_provider("stripe").list_subscriptions())) == 2


def test_the_public_whop_key_lists_one_users_memberships(sandbox_app, account, inbox) -> None:
    client = sandbox_app.test_client()
    other = make_account("globex", owner="owner@globex.test")
    buy(client, account)
    buy(client, other)

    everyone = client.get("/_sandbox/whop/api/v1/memberships", headers=WHOP_KEY)
    assert everyone.status_code == 400
    db.session.rollback()
    memberships = db.session.scalars(
        sa.select(Subscription).where(Subscription.provider == "whop")
    ).all()
    mine = next(row for row in memberships if row.account_id == account.id)
    user = mine.provider_customer_id
    listed = client.get(f"/_sandbox/whop/api/v1/memberships?user_ids={user}", headers=WHOP_KEY)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.get_json()["data"]] == [mine.provider_subscription_id]
    assert len(list(get_provider("whop").list_subscriptions())) == 2

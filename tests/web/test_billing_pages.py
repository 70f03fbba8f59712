"""Customer billing routes: checkout for a tier, Manage billing, Whop license keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Membership
from tiergate.billing.models import Subscription
from tiergate.billing.providers import get_provider
from tiergate.billing.providers.sandbox import flows, store
from tiergate.billing.providers.sandbox.models import SandboxObject
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db, utcnow

from ..accounts.factories import make_catalog, subscribe
from ..browsing import log_in
from ..conftest import http_client
from .support import make_account, make_user, page_token, post_form, sandbox_app, text  # noqa: F401


@pytest.fixture
def acme(sandbox_app):  # noqa: F811
    account = make_account("acme", owner="owner@acme.test")
    member = make_user("member@acme.test")
    db.session.add(Membership(account_id=account.id, user_id=member.id, role="member"))
    make_account("other", owner="owner@other.test")
    db.session.commit()
    return account


@pytest.fixture
def client(sandbox_app):  # noqa: F811
    return http_client(sandbox_app)


def checkouts() -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count(SandboxObject.id)).where(
            SandboxObject.kind.in_(("checkout_session", "checkout_configuration"))
        )
    )


def subscriptions() -> list[tuple[int, str, str]]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Subscription.account_id, Subscription.provider, Subscription.status)
    )
    return [tuple(row) for row in rows]


def start(client, tier_key: str, account: str = "acme"):
    return client.post(
        f"/billing/checkout/{tier_key}?account={account}", data={"csrf_token": page_token(client)}
    )


def test_checkout_redirects_to_the_stripe_sandbox_page(client, acme) -> None:
    log_in(client, "owner@acme.test")
    response = start(client, "pro")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("http://localhost/_sandbox/stripe/checkout/cs_")
    page = client.get(location.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert "Pay" in text(page)


def test_checkout_of_a_whop_tier_opens_the_whop_purchase_page(client, acme) -> None:
    log_in(client, "owner@acme.test")
    response = start(client, "enterprise")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("http://localhost/_sandbox/whop/checkout/")
    assert client.get(location.removeprefix("http://localhost")).status_code == 200


def test_an_admin_may_start_a_checkout(client, acme) -> None:
    admin = make_user("admin@acme.test")
    db.session.add(Membership(account_id=acme.id, user_id=admin.id, role="admin"))
    db.session.commit()
    log_in(client, "admin@acme.test")
    assert start(client, "team").status_code == 303
    assert checkouts() == 1


@pytest.mark.parametrize("tier_key", ["free", "partner", "staff", "nope"])
def test_only_tiers_sold_through_a_provider_can_be_bought(client, acme, tier_key) -> None:
    log_in(client, "owner@acme.test")
    assert start(client, tier_key).status_code == 404
    assert checkouts() == 0


def test_the_current_tier_is_not_bought_twice(client, acme) -> None:
    subscribe(acme, "pro", period_end=utcnow() + timedelta(days=9), updated_at=utcnow())
    log_in(client, "owner@acme.test")
    response = start(client, "pro")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account?account=acme"
    assert "Acme is already on Pro." in text(client.get("/account"))
    assert checkouts() == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("member@acme.test", 403), ("owner@other.test", 404)],
)
def test_who_may_start_a_checkout(client, acme, who, status) -> None:
    if who:
        log_in(client, who)
    response = start(client, "pro")
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login")
    assert checkouts() == 0


def test_a_disabled_provider_is_explained_on_the_pricing_page(app) -> None:
    make_catalog()
    make_account("acme", owner="owner@acme.test")
    client = http_client(app)
    log_in(client, "owner@acme.test")
    response = start(client, "pro")
    assert response.status_code == 303
    assert response.headers["Location"] == "/pricing"
    body = text(client.get("/pricing"))
    assert "The checkout could not start: Stripe is not configured" in body


def test_manage_billing_without_a_paid_subscription_says_so(client, acme) -> None:
    log_in(client, "owner@acme.test")
    response = post_form(client, "/account", "/billing/manage?account=acme")
    assert response.status_code == 303
    assert "There is no paid subscription to manage yet" in text(client.get("/account"))


def test_manage_billing_is_for_owners_and_admins(client, acme) -> None:
    log_in(client, "member@acme.test")
    response = post_form(client, "/account", "/billing/manage?account=acme")
    assert response.status_code == 403


def whop_license_key(account) -> str:
    """Buy Enterprise in the Whop sandbox without tiergate hearing of it; return the key."""
    tier = db.session.scalar(
        sa.select(SubscriptionTier).where(SubscriptionTier.key == "enterprise")
    )
    url = get_provider("whop").start_checkout(account, tier, success_url="/", cancel_url="/")
    flows.pay_whop_checkout(url.rstrip("/").rsplit("/", 1)[1])  # its events are not delivered
    db.session.commit()
    (membership,) = store.list_objects("whop", "membership")
    return str(membership.data["license_key"])


def attach(client, key: str):
    return post_form(client, "/account", "/billing/license-key?account=acme", {"license_key": key})


def test_a_license_key_attaches_the_whop_membership(client, acme) -> None:
    key = whop_license_key(acme)
    log_in(client, "owner@acme.test")
    response = attach(client, key)
    assert response.status_code == 303
    assert subscriptions() == [(acme.id, "whop", "active")]
    body = text(client.get("/account"))
    assert "The license key is attached" in body
    assert 'data-tier="enterprise"' in body and "Enterprise, renews on" in body


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("", 422, "Enter the license key from your Whop purchase."),
        ("x" * 129, 422, "A license key has at most 128 characters."),
        ("LIC-NOT-A-REAL-KEY", 422, "Whop knows no membership with this license key"),
        ("LIC-\u5bc6\u94a5", 422, "A license key holds only letters, digits and dashes"),
        ("LIC-%ED%B2%80", 422, "A license key holds only letters, digits and dashes"),
    ],
)
def test_license_key_errors_are_shown_next_to_the_field(client, acme, key, status, message) -> None:
    log_in(client, "owner@acme.test")
    response = attach(client, key)
    assert response.status_code == status
    body = text(response)
    errors = body[body.index('id="license_key-errors"') :]
    assert message in errors[: errors.index("</ul>")]
    assert f'value="{key}"' in body  # what was typed is kept
    assert subscriptions() == []

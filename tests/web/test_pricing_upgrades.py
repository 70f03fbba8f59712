"""/pricing for each visitor: sign-up links, the current plan, upgrade buttons for managers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Membership
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db, utcnow
from tiergate.standalone.users import find_user

from ..accounts.factories import make_catalog, subscribe
from ..browsing import log_in
from .support import make_account, make_user, text


@pytest.fixture
def acme(app):
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro", period_end=utcnow() + timedelta(days=12), updated_at=utcnow())
    member = make_user("member@acme.test")
    db.session.add(Membership(account_id=account.id, user_id=member.id, role="member"))
    db.session.commit()
    return account


def tier_section(body: str, key: str) -> str:
    start = body.index(f'id="tier-{key}"')
    end = body.find('<li class="tier', start)
    return body[start : end if end != -1 else len(body)]


def checkout_actions(body: str) -> list[str]:
    return re.findall(r'action="/billing/checkout/([a-z]+)\?account=acme"', body)


def test_anonymous_visitors_get_sign_up_links(client, acme) -> None:
    body = text(client.get("/pricing"))
    assert body.count('href="/signup">Sign up to choose</a>') == 4  # free, pro, team, enterprise
    assert checkout_actions(body) == []
    assert "Current plan" not in body


def test_owner_sees_the_current_plan_and_upgrade_buttons(client, acme) -> None:
    log_in(client, "owner@acme.test")
    response = client.get("/pricing")
    assert response.status_code == 200
    body = text(response)
    assert "Plans for <strong>Acme</strong>, now on <strong>Pro</strong>." in body
    assert "Current plan" in tier_section(body, "pro")
    assert '<li class="tier tier-current">' in body and body.count("tier-current") == 1
    assert checkout_actions(body) == ["team", "enterprise"]  # not the current tier, not free
    assert "Upgrade to Team" in body and "Billed monthly" in tier_section(body, "team")
    assert "Billed monthly" in tier_section(body, "enterprise")
    for form in re.findall(r'<form method="post" action="/billing/checkout/.*?</form>', body):
        assert 'name="csrf_token"' in form
    assert "Sign up to choose" not in body
    assert "style=" not in body and "<script" not in body


def test_lower_tiers_are_a_switch_not_an_upgrade(client, acme) -> None:
    subscribe(acme, "team", period_end=utcnow() + timedelta(days=12), updated_at=utcnow())
    log_in(client, "owner@acme.test")
    body = text(client.get("/pricing"))
    assert checkout_actions(body) == ["pro", "enterprise"]
    assert "Switch to Pro" in body and "Upgrade to Enterprise" in body


def test_members_see_the_plan_but_cannot_buy(client, acme) -> None:
    log_in(client, "member@acme.test")
    body = text(client.get("/pricing"))
    assert "Current plan" in tier_section(body, "pro")
    assert checkout_actions(body) == []
    assert "Ask an owner or an admin to choose Team." in body


def test_the_fallback_price_is_shown(client, acme) -> None:
    tier = db.session.scalars(
        sa.select(SubscriptionTier).where(SubscriptionTier.key == "team")
    ).one()
    tier.fallback_price = "$49 / month"
    db.session.commit()
    body = text(client.get("/pricing"))
    assert '<p class="tier-price">$49 / month</p>' in tier_section(body, "team")


def test_a_tier_without_a_provider_setup_has_no_button(client, acme) -> None:
    tier = db.session.scalars(
        sa.select(SubscriptionTier).where(SubscriptionTier.key == "team")
    ).one()
    tier.stripe_lookup_key = None  # a Stripe tier without a price cannot be sold
    db.session.commit()
    log_in(client, "owner@acme.test")
    assert checkout_actions(text(client.get("/pricing"))) == ["enterprise"]


def test_the_account_the_user_chose_is_the_one_priced(client, acme) -> None:
    beta = make_account("beta", owner="beta@beta.test")
    owner = find_user("owner@acme.test")
    db.session.add(Membership(account_id=beta.id, user_id=owner.id, role="owner"))
    db.session.commit()
    log_in(client, "owner@acme.test")
    client.get("/account?account=beta")
    body = text(client.get("/pricing"))
    assert "Plans for <strong>Beta</strong>, now on <strong>Free</strong>." in body
    assert re.findall(r'action="/billing/checkout/([a-z]+)\?account=beta"', body) == [
        "pro",
        "team",
        "enterprise",
    ]

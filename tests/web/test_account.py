"""/account: the plan in plain words, what it grants, account choice and who sees what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tiergate.accounts.models import Membership
from tiergate.audit.services import Actor
from tiergate.billing.models import Subscription
from tiergate.billing.services import grant_exempt_tier
from tiergate.db import db, utcnow
from tiergate.entitlements.policy import AccessPolicy
from tiergate.entitlements.resolve import Entitlements, TierInfo
from tiergate.standalone.users import create_user, find_user
from tiergate.web.account.status import PlanStatus, describe_plan, format_day

from ..accounts.factories import PASSWORD, SYSTEM, make_catalog, subscribe
from ..browsing import log_in, log_in_with_form
from .support import make_account, make_user, text

NOW = datetime(2026, 12, 20, 9, 30, tzinfo=UTC)
JAN_3 = datetime(2027, 1, 3, 12, 0, tzinfo=UTC)
PRO = TierInfo(1, "pro", "Pro", 10, 3, True, True, frozenset({"reports.export"}))
FREE = TierInfo(2, "free", "Free", 0, 1, True, True, frozenset())
ENTERPRISE = TierInfo(3, "enterprise", "Enterprise", 30, 50, True, True, frozenset())


def entitlements(tier, subscription=None, *, fallback=None):
    return Entitlements(
        account_id=1,
        tier=tier,
        source_subscription_id=1 if subscription is not None else None,
        status=subscription.status if subscription is not None else None,
        permissions=tier.permissions if tier else frozenset(),
        seats_used=1,
        seat_limit=tier.user_limit if tier else 0,
        computed_at=NOW,
        valid_until=None,
        fallback_reason=fallback,
    )


def sub(status="active", provider="stripe", **fields):
    return Subscription(
        status=status, provider=provider, cancel_at_period_end=fields.pop("cancel", False), **fields
    )


GRANT = dict(grant_reason="conference partner")
WORDING = [
    (PRO, sub(current_period_end=JAN_3), None, PlanStatus("Pro, renews on 3 January 2027")),
    (PRO, sub(), None, PlanStatus("Pro, active")),
    (
        PRO,
        sub(current_period_end=JAN_3, cancel=True),
        None,
        PlanStatus("Pro, cancels on 3 January 2027", tone="warning"),
    ),
    (
        PRO,
        sub("trialing", trial_end=JAN_3, current_period_end=JAN_3),
        None,
        PlanStatus(
            "Pro, free trial", "Trial ends on 3 January 2027, then the first payment is due."
        ),
    ),
    (
        PRO,
        sub("trialing", trial_end=JAN_3, current_period_end=JAN_3, cancel=True),
        None,
        PlanStatus(
            "Pro, free trial", "Trial ends on 3 January 2027, then the plan cancels.", "warning"
        ),
    ),
    (
        PRO,
        sub(current_period_end=JAN_3, billing_interval="year"),
        None,
        PlanStatus("Pro (yearly), renews on 3 January 2027"),
    ),
    (
        PRO,
        sub("past_due", current_period_end=JAN_3),
        None,
        PlanStatus(
            "Pro: payment failed, access until 10 January 2027",  # 3 Jan + 7 days of grace
            "Update your payment method with Manage billing to keep this plan.",
            "warning",
        ),
    ),
    (
        ENTERPRISE,
        sub(provider="exempt", grant_expires_at=datetime(2027, 3, 31, tzinfo=UTC), **GRANT),
        None,
        PlanStatus("Staff grant: Enterprise until 31 March 2027", tone="warning"),
    ),
    (
        ENTERPRISE,
        sub(provider="exempt", **GRANT),
        None,
        PlanStatus("Staff grant: Enterprise"),
    ),
    (FREE, None, None, PlanStatus("Free", tone="neutral")),
    (
        FREE,
        None,
        "subscription_canceled",
        PlanStatus("Free", "Your subscription has ended.", "warning"),
    ),
    (
        FREE,
        None,
        "past_due_grace_expired",
        PlanStatus("Free", "A payment is overdue and the grace period has ended.", "warning"),
    ),
    (None, None, None, PlanStatus("No plan", "This site has no default plan yet.", "neutral")),
]


@pytest.mark.parametrize(("tier", "subscription", "fallback", "expected"), WORDING)
def test_plan_wording(tier, subscription, fallback, expected) -> None:
    policy = AccessPolicy.from_config({"TIERGATE_PAST_DUE_GRACE_DAYS": 7})
    found = describe_plan(entitlements(tier, subscription, fallback=fallback), subscription, policy)
    assert found == expected


def test_days_are_written_in_words() -> None:
    assert format_day(datetime(2027, 1, 3, tzinfo=UTC)) == "3 January 2027"
    assert format_day(datetime(2027, 11, 30, 23, 59, tzinfo=UTC)) == "30 November 2027"


@pytest.fixture
def acme(app):
    make_catalog()
    return make_account("acme", owner="owner@acme.test")


def plan_line(response) -> str:
    body = text(response)
    start = body.index('class="plan-status"')
    return body[body.index(">", start) + 1 : body.index("</p>", start)]


def test_anonymous_visitors_are_sent_to_log_in(client, acme) -> None:
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_default_tier_reads_free_with_its_permissions(client, acme) -> None:
    log_in(client, "owner@acme.test")
    response = client.get("/account")
    assert response.status_code == 200
    assert plan_line(response) == "Free"
    body = text(response)
    assert "Reports View" in body and "Reports Export" not in body
    assert "1 of 1 seats used" in body
    assert "Manage billing" not in body  # nothing paid yet
    assert "No paid subscription yet" in body
    # The catalog sells Enterprise through Whop: a license key bought there attaches on Free.
    assert "Attach license key" in body
    assert "style=" not in body and "<script" not in body


def test_paid_plan_shows_renewal_and_manage_billing(client, acme) -> None:
    period_end = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    subscribe(acme, "pro", period_end=period_end, updated_at=utcnow() - timedelta(hours=1))
    log_in(client, "owner@acme.test")
    response = client.get("/account")
    assert plan_line(response) == f"Pro, renews on {format_day(period_end)}"
    body = text(response)
    assert "Reports Export" in body
    assert "Manage billing" in body
    assert "1 of 3 seats used" in body


def test_staff_grant_shows_its_end_but_never_its_internal_reason(client, acme) -> None:
    ends = (utcnow() + timedelta(days=40)).replace(microsecond=0)
    staff = make_user("staff@tiergate.test", staff=True)
    grant_exempt_tier(
        acme, "partner", actor=Actor.user(staff), reason="launch partner", expires_at=ends
    )
    db.session.commit()
    log_in(client, "owner@acme.test")
    response = client.get("/account")
    assert plan_line(response) == f"Staff grant: Partner until {format_day(ends)}"
    assert "launch partner" not in text(response)


def test_a_member_sees_the_plan_but_no_billing_controls(client, acme) -> None:
    subscribe(acme, "pro", period_end=utcnow() + timedelta(days=5), updated_at=utcnow())
    member = make_user("member@acme.test")
    db.session.add(Membership(account_id=acme.id, user_id=member.id, role="member"))
    db.session.commit()
    log_in(client, "member@acme.test")
    response = client.get("/account")
    assert response.status_code == 200
    body = text(response)
    assert plan_line(response).startswith("Pro, renews on")
    assert "Manage billing" not in body and "Attach license key" not in body
    assert "Only an owner or an admin can change billing." in body


def test_several_accounts_pick_one_and_remember_it(client, acme) -> None:
    owner = find_user("owner@acme.test")
    beta = make_account("beta")
    db.session.add(Membership(account_id=beta.id, user_id=owner.id, role="member"))
    db.session.commit()
    log_in(client, "owner@acme.test")
    first = text(client.get("/account"))
    assert "<h1>Acme</h1>" in first
    assert 'aria-label="Your accounts"' in first and "?account=beta" in first
    chosen = text(client.get("/account?account=beta"))
    assert "<h1>Beta</h1>" in chosen and "You are a member of this account." in chosen
    assert "<h1>Beta</h1>" in text(client.get("/account"))  # remembered
    assert "Members of Beta" in text(client.get("/account/members"))


def test_an_account_the_user_is_not_in_does_not_exist(client, acme) -> None:
    make_account("other", owner="owner@other.test")
    log_in(client, "owner@acme.test")
    assert client.get("/account?account=other").status_code == 404
    assert client.get("/account?account=nothing-here").status_code == 404
    assert client.get("/account/members?account=other").status_code == 404


def test_staff_without_membership_is_a_non_member_here(client, acme) -> None:
    make_user("staff@tiergate.test", staff=True)
    db.session.commit()
    log_in(client, "staff@tiergate.test")
    response = client.get("/account")
    assert response.status_code == 200
    assert "You are not a member of any account." in text(response)
    assert client.get("/account?account=acme").status_code == 404
    assert client.get("/account/members?account=acme").status_code == 404


def test_nav_links_for_signed_in_users(client, acme) -> None:
    anonymous = text(client.get("/pricing"))
    assert 'href="/account"' not in anonymous and "Log in" in anonymous
    log_in(client, "owner@acme.test")
    body = text(client.get("/account"))
    assert '<a href="/account" aria-current="page">Account</a>' in body
    assert '<a href="/account/members">Members</a>' in body
    assert "Log out" in body and ">Log in<" not in body


def test_log_in_through_the_form_lands_on_the_account(client, app) -> None:
    make_catalog()
    solo = make_account("solo")
    user = create_user("solo@example.test", password=PASSWORD, actor=SYSTEM)
    db.session.add(Membership(account_id=solo.id, user_id=user.id, role="owner"))
    db.session.commit()
    log_in_with_form(client, "solo@example.test")
    response = client.get("/account")
    assert response.status_code == 200
    assert "<h1>Solo</h1>" in text(response)


def test_permissions_no_customer_tier_grants_are_not_listed(client, acme) -> None:
    from tiergate.catalog import services as catalog

    catalog.create_permission("admin.console", "Open the admin console")
    catalog.grant_permission("staff", "admin.console")
    staff = make_user("staff@tiergate.test", staff=True)
    grant_exempt_tier(acme, "staff", actor=Actor.user(staff), reason="our own team")
    db.session.commit()
    log_in(client, "owner@acme.test")
    body = text(client.get("/account"))
    assert "Reports Export" in body and "Sso" in body  # customer tiers grant these too
    assert "Open the admin console" not in body and "admin.console" not in body
    assert "our own team" not in body


def test_seats_over_the_limit_read_red_on_the_account_page(client, acme) -> None:
    for email in ("a@acme.test", "b@acme.test"):
        user = make_user(email)
        db.session.add(Membership(account_id=acme.id, user_id=user.id, role="member"))
    db.session.commit()  # 3 people on Free, which allows 1
    log_in(client, "owner@acme.test")
    body = text(client.get("/account"))
    assert '<span class="seats-count seats-over">3 of 1 seats used</span>' in body
    assert 'data-reason="over_limit"' in body and "Free allows 1 seat:" in body

"""The access policy as a table: status x position in time -> effective tier and reason."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from tiergate.billing.services import grant_exempt_tier, revoke_exempt_tier
from tiergate.db import db
from tiergate.entitlements.policy import AccessPolicy
from tiergate.entitlements.services import entitlements_for, get_cache

from ..accounts.factories import DAY, NOW, SYSTEM, make_account, make_catalog, subscribe
from ..conftest import make_app

PERIOD_END = NOW
POSITIONS = {
    "before_period_end": PERIOD_END - DAY,
    "within_grace": PERIOD_END + 3 * DAY,  # grace is 7 days by default
    "after_grace": PERIOD_END + 8 * DAY,
}
B, W, A = "before_period_end", "within_grace", "after_grace"

# (status, cancel_at_period_end, position) -> (effective tier, reason it fell back)
TABLE = [
    ("active", False, B, "pro", None),
    ("active", False, W, "pro", None),
    ("active", False, A, "pro", None),
    ("trialing", False, B, "pro", None),
    ("trialing", False, A, "pro", None),
    ("past_due", False, B, "pro", None),
    ("past_due", False, W, "pro", None),
    ("past_due", False, A, "free", "past_due_grace_expired"),
    ("active", True, B, "pro", None),
    ("active", True, W, "free", "subscription_canceled"),
    ("active", True, A, "free", "subscription_canceled"),
    ("trialing", True, B, "pro", None),
    ("trialing", True, W, "free", "subscription_canceled"),
    ("past_due", True, B, "pro", None),
    ("past_due", True, W, "free", "subscription_canceled"),
    *[
        (status, False, position, "free", f"subscription_{status}")
        for status in ("unpaid", "paused", "canceled", "incomplete", "expired")
        for position in (B, W, A)
    ],
]


@pytest.mark.parametrize(("status", "cancel", "position", "tier", "reason"), TABLE)
def test_provider_subscription_policy(catalog_app, status, cancel, position, tier, reason):
    account = make_account("acme")
    subscribe(account, "pro", status=status, period_end=PERIOD_END, cancel_at_period_end=cancel)

    entitlements = entitlements_for(account, now=POSITIONS[position])

    assert (entitlements.tier_key, entitlements.fallback_reason) == (tier, reason)
    assert entitlements.status == status
    assert ("reports.export" in entitlements.permissions) == (tier == "pro")


def test_past_due_without_a_period_end_falls_back(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro", status="past_due", period_end=None)
    assert entitlements_for(account, now=NOW).fallback_reason == "past_due_grace_expired"


def test_the_grace_period_comes_from_the_config(tmp_path, sqlite_template):
    shutil.copyfile(sqlite_template, tmp_path / "db.sqlite3")
    application = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", TIERGATE_PAST_DUE_GRACE_DAYS=2)
    with application.app_context():
        make_catalog()
        account = make_account("acme")
        subscribe(account, "pro", status="past_due", period_end=PERIOD_END)
        assert entitlements_for(account, now=PERIOD_END + 1 * DAY).tier_key == "pro"
        assert entitlements_for(account, now=PERIOD_END + 3 * DAY).tier_key == "free"
        db.session.remove()
        db.engine.dispose()


def test_a_status_rule_can_be_overridden(catalog_app):
    get_cache().policy = AccessPolicy.from_config(
        {"TIERGATE_ACCESS_POLICY": {"paused": ("grant",), "active": ("deny", "on_hold")}}
    )
    paused, active = make_account("paused"), make_account("active")
    subscribe(paused, "pro", status="paused")
    subscribe(active, "pro", status="active")
    assert entitlements_for(paused, now=NOW).tier_key == "pro"
    assert entitlements_for(active, now=NOW).fallback_reason == "on_hold"


@pytest.mark.parametrize(
    ("expires_at", "now", "tier", "reason"),
    [
        (None, NOW, "partner", None),
        (None, NOW + 1000 * DAY, "partner", None),
        (NOW + DAY, NOW, "partner", None),
        (NOW + DAY, NOW + DAY, "free", "exempt_grant_expired"),
        (NOW + DAY, NOW + 2 * DAY, "free", "exempt_grant_expired"),
    ],
)
def test_exempt_grant_policy(catalog_app, expires_at, now, tier, reason):
    account = make_account("acme")
    grant_exempt_tier(
        account, "partner", actor=SYSTEM, reason="design partner", expires_at=expires_at, now=NOW
    )
    db.session.commit()
    entitlements = entitlements_for(account, now=now)
    assert (entitlements.tier_key, entitlements.fallback_reason) == (tier, reason)


def test_revoked_exempt_grant_falls_back(catalog_app):
    account = make_account("acme")
    grant_exempt_tier(account, "partner", actor=SYSTEM, reason="design partner", now=NOW)
    revoke_exempt_tier(account, actor=SYSTEM, reason="partnership ended", now=NOW + DAY)
    db.session.commit()
    entitlements = entitlements_for(account, now=NOW + 2 * DAY)
    assert (entitlements.tier_key, entitlements.fallback_reason) == (
        "free",
        "subscription_canceled",
    )


@pytest.mark.parametrize(
    ("holdings", "now", "tier"),
    [
        # exempt partner (rank 25) beats a paid team (rank 20) ...
        ([("partner", "exempt", "active"), ("team", "stripe", "active")], NOW, "partner"),
        # ... but a paid enterprise (rank 30) beats the exempt partner
        ([("partner", "exempt", "active"), ("enterprise", "whop", "active")], NOW, "enterprise"),
        # a lapsed higher tier does not count: the granting lower one wins
        ([("team", "stripe", "canceled"), ("pro", "whop", "active")], NOW, "pro"),
        # past_due enterprise inside its grace still outranks an active pro
        (
            [("enterprise", "whop", "past_due"), ("pro", "stripe", "active")],
            NOW + DAY,
            "enterprise",
        ),
        ([("enterprise", "whop", "past_due"), ("pro", "stripe", "active")], NOW + 8 * DAY, "pro"),
    ],
)
def test_highest_ranked_granting_tier_wins(catalog_app, holdings, now: datetime, tier):
    account = make_account("acme")
    for index, (key, provider, status) in enumerate(holdings):
        if provider == "exempt":
            grant_exempt_tier(account, key, actor=SYSTEM, reason="test", now=NOW - DAY)
            db.session.commit()
        else:
            subscribe(
                account,
                key,
                provider=provider,
                status=status,
                period_end=NOW,
                subscription_id=f"sub_{index}",
            )
    assert entitlements_for(account, now=now).tier_key == tier


def test_no_subscription_gets_the_default_tier(catalog_app):
    account = make_account("acme")
    entitlements = entitlements_for(account, now=NOW)
    assert entitlements.tier_key == "free"
    assert entitlements.source_subscription_id is None
    assert entitlements.permissions == {"reports.view"}
    assert entitlements.status is None


def test_valid_until_is_the_next_moment_the_decision_changes(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro", status="past_due", period_end=PERIOD_END)
    assert entitlements_for(account, now=NOW).valid_until == PERIOD_END + 7 * DAY

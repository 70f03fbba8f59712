"""The limit decision as a table: situation x amount -> allowed, reason, limit, used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tiergate.accounts.models import Account
from tiergate.billing.services import grant_exempt_tier
from tiergate.db import db
from tiergate.limits import check, report_count, track

from ..accounts.factories import DAY
from .support import NOW, SYSTEM, limited_account, subscribe

MONTH_LATER = NOW + timedelta(days=31)


def _projects(count: int) -> Callable[[Account], None]:
    def setup(account: Account) -> None:
        report_count(account.id, "projects", count, now=NOW)

    return setup


def _pro(**state: object) -> Callable[[Account], None]:
    def setup(account: Account) -> None:
        subscribe(account, "pro", **{"period_end": NOW + 20 * DAY, **state})  # type: ignore[arg-type]

    return setup


def _exempt(tier: str, expires_in: timedelta | None) -> Callable[[Account], None]:
    def setup(account: Account) -> None:
        expires = NOW + expires_in if expires_in is not None else None
        grant_exempt_tier(
            account, tier, actor=SYSTEM, reason="partner", expires_at=expires, now=NOW
        )
        db.session.commit()

    return setup


def _calls(amount: int) -> Callable[[Account], None]:
    def setup(account: Account) -> None:
        track(account.id, "api.calls", amount, now=NOW)

    return setup


@dataclass(frozen=True)
class Row:
    setups: tuple[Callable[[Account], None], ...]
    permission: str
    amount: int
    allowed: bool
    reason: str | None
    limit: int | None
    used: int
    at: object = NOW
    upgrade_to: tuple[str, ...] = ()


PAID_THROUGH = {"status": "past_due", "period_end": NOW + 20 * DAY}
TABLE = {
    "under": Row((_projects(2),), "projects", 1, True, None, 3, 2),
    "at": Row((_projects(3),), "projects", 1, False, "limit_reached", 3, 3,
              upgrade_to=("pro", "team")),
    "over_by_amount": Row((_projects(1),), "projects", 5, False, "limit_reached", 3, 1,
                          upgrade_to=("pro", "team")),
    "unlimited": Row((_projects(500), lambda a: subscribe(a, "team")), "projects", 1, True,
                     None, None, 500),
    "downgraded_below_usage": Row(
        (_pro(), _projects(20), _pro(status="canceled", updated_at=NOW)), "projects", 0, False,
        "limit_reached", 3, 20, upgrade_to=("pro", "team"),
    ),
    "upgraded_holds_usage": Row((_projects(20), _pro()), "projects", 1, True, None, 50, 20),
    "period_rollover": Row((_calls(100),), "api.calls", 1, True, None, 100, 0, at=MONTH_LATER),
    "same_period_full": Row((_calls(100),), "api.calls", 1, False, "limit_reached", 100, 100,
                            upgrade_to=("pro", "team")),
    "past_due_within_grace": Row(
        (_pro(**PAID_THROUGH, paid_through=NOW - 2 * DAY), _projects(20)), "projects", 1, True,
        None, 50, 20,
    ),
    "past_due_grace_expired": Row(
        (_pro(**PAID_THROUGH, paid_through=NOW - 10 * DAY), _projects(20)), "projects", 1,
        False, "limit_reached", 3, 20, upgrade_to=("pro", "team"),
    ),
    "exempt_grant": Row((_exempt("partner", None), _projects(9)), "projects", 1, True, None, 10, 9),
    "exempt_grant_expired": Row(
        (_exempt("partner", DAY), _projects(9)), "projects", 1, False, "limit_reached", 3, 9,
        at=NOW + 2 * DAY, upgrade_to=("pro", "team"),
    ),
    "not_granted": Row((lambda a: subscribe(a, "enterprise", provider="whop"),), "projects", 1,
                       False, "not_in_tier", 0, 0, upgrade_to=("pro", "team")),
}  # fmt: skip


@pytest.mark.parametrize("name", TABLE)
def test_limit_decision(app, name):
    row = TABLE[name]
    account = limited_account()
    for setup in row.setups:
        setup(account)
        db.session.commit()

    result = check(account.id, row.permission, amount=row.amount, now=row.at)

    assert (result.allowed, result.reason) == (row.allowed, row.reason)
    assert (result.limit, result.used) == (row.limit, row.used)
    assert result.upgrade_to == row.upgrade_to


def test_metered_usage_counts_in_the_billing_period(app):
    account = limited_account()
    start, end = NOW - 14 * DAY, NOW + 16 * DAY
    subscribe(account, "pro", period_end=end, current_period_start=start)
    track(account.id, "api.calls", 7, now=NOW)
    db.session.commit()
    before_renewal = check(account.id, "api.calls", now=end - DAY)
    after_renewal = check(account.id, "api.calls", now=end + DAY)  # webhook not yet arrived
    assert (before_renewal.used, before_renewal.resets_at) == (7, end)
    assert (after_renewal.used, after_renewal.resets_at) == (0, end + (end - start))

"""reserve, release, report_count, track and check against a real database."""

from __future__ import annotations

import pytest

from tiergate.db import db
from tiergate.errors import ValidationError
from tiergate.limits import (
    LimitReached,
    PermissionRefused,
    check,
    release,
    report_count,
    reserve,
    track,
    usage,
)

from .support import NOW, limited_account, reserve_committed, subscribe


def test_reserve_until_the_limit_then_refuse(app):
    account = limited_account()
    reserve_committed(account.id, "projects", 2)
    reserve_committed(account.id, "projects", 1)
    with pytest.raises(LimitReached) as refused:
        reserve(account.id, "projects", 1, now=NOW)
    db.session.rollback()
    assert refused.value.details["used"] == 3
    assert refused.value.details["limit"] == 3
    assert refused.value.details["upgrade_to"] == ["pro", "team"]
    result = check(account.id, "projects", now=NOW)
    assert (result.allowed, result.used, result.limit, result.remaining) == (False, 3, 3, 0)
    assert result.reason == "limit_reached"


def test_release_frees_units_and_refuses_more_than_reserved(app):
    account = limited_account()
    reserve_committed(account.id, "projects", 3)
    release(account.id, "projects", 2, now=NOW)
    db.session.commit()
    assert check(account.id, "projects", now=NOW).used == 1
    with pytest.raises(ValidationError, match="only 1 reserved"):
        release(account.id, "projects", 2, now=NOW)
    db.session.rollback()
    assert check(account.id, "projects", now=NOW).used == 1


def test_a_rolled_back_reservation_is_not_counted(app):
    account = limited_account()
    reserve(account.id, "projects", 2, now=NOW)
    db.session.rollback()
    assert check(account.id, "projects", amount=3, now=NOW).allowed


def test_report_count_sets_the_allocation(app):
    account = limited_account()
    report_count(account.id, "projects", 7, now=NOW)
    db.session.commit()
    result = check(account.id, "projects", amount=0, now=NOW)
    assert (result.used, result.over_limit, result.allowed) == (7, True, False)


def test_track_counts_per_period_and_refuses_past_a_hard_limit(app):
    account = limited_account()
    track(account.id, "api.calls", 60, now=NOW)
    track(account.id, "api.calls", 40, now=NOW)
    db.session.commit()
    with pytest.raises(LimitReached):
        track(account.id, "api.calls", 1, now=NOW)
    db.session.rollback()
    result = check(account.id, "api.calls", now=NOW)
    assert (result.used, result.limit) == (100, 100)
    assert result.resets_at is not None and result.resets_at.month == NOW.month + 1


@pytest.mark.parametrize(
    ("call", "permission", "message"),
    [
        (reserve, "api.calls", "'api.calls' is a metered permission"),
        (track, "projects", "'projects' is a allocation permission"),
        (track, "reports.view", "'reports.view' is a feature permission"),
        (reserve, "nope", "not a permission this catalog knows"),
    ],
)
def test_the_wrong_kind_of_permission_is_a_clear_error(app, call, permission, message):
    account = limited_account()
    with pytest.raises(ValidationError, match=message):
        call(account.id, permission, 1, now=NOW)
    db.session.rollback()


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "2"])
def test_a_bad_amount_is_refused_and_changes_nothing(app, amount):
    account = limited_account()
    with pytest.raises(ValidationError, match="amount must be a whole number"):
        reserve(account.id, "projects", amount, now=NOW)
    db.session.rollback()
    assert check(account.id, "projects", now=NOW).used == 0


def test_a_permission_the_tier_lacks_is_refused_with_its_reason(app):
    account = limited_account()
    subscribe(account, "enterprise", provider="whop")  # grants no limited permission
    with pytest.raises(PermissionRefused) as refused:
        reserve(account.id, "projects", 1, now=NOW)
    db.session.rollback()
    assert refused.value.details["reason"] == "not_in_tier"
    assert refused.value.details["upgrade_to"] == ["pro", "team"]
    assert check(account.id, "projects", now=NOW).used == 0


def test_usage_lists_every_limit_of_the_tier(app):
    account = limited_account()
    reserve_committed(account.id, "projects", 1)
    rows = {row.permission: row for row in usage(account.id, now=NOW)}
    assert sorted(rows) == ["api.billed", "api.calls", "api.soft", "projects"]
    assert (rows["projects"].used, rows["projects"].limit) == (1, 3)


def test_thresholds_are_signalled_once_each_after_the_commit(app):
    from tiergate.signals import limit_threshold_reached

    account = limited_account()
    received: list[tuple[int, int]] = []

    def note(sender, **crossing):
        received.append((crossing["threshold"], crossing["used"]))

    with limit_threshold_reached.connected_to(note, sender=app):
        track(account.id, "api.calls", 79, now=NOW)
        db.session.commit()
        track(account.id, "api.calls", 2, now=NOW)  # crosses 80 %
        assert received == []  # not before the commit
        db.session.commit()
        track(account.id, "api.calls", 5, now=NOW)  # stays between 80 % and 100 %
        db.session.rollback()
        track(account.id, "api.calls", 19, now=NOW)  # reaches 100 %
        db.session.commit()
    assert received == [(80, 81), (100, 100)]

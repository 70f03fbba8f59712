"""The entitlements cache: warm lookups, invalidation in this process and in another one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from flask import Flask

from tiergate.accounts.seats import invite_member
from tiergate.catalog import services as catalog
from tiergate.db import begin_write_transaction, db
from tiergate.entitlements.services import check, get_cache

from ..accounts.factories import DAY, NOW, SYSTEM, make_account, subscribe


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_warm_check_reads_nothing(catalog_app):
    account = make_account("acme")
    cache = get_cache()
    check(account, "reports.export", now=NOW)
    computed = cache.computations
    for _ in range(5):
        assert check(account, "reports.view", now=NOW).allowed
    assert cache.computations == computed


def test_tier_permission_change_is_visible_on_the_next_check(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro")
    assert check(account, "reports.export", now=NOW).allowed
    catalog.revoke_permission("pro", "reports.export")
    db.session.commit()
    assert check(account, "reports.export", now=NOW).reason == "not_in_tier"
    catalog.grant_permission("pro", "audit.read")
    db.session.commit()
    assert check(account, "audit.read", now=NOW).allowed


def test_subscription_change_is_visible_on_the_next_check(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro", updated_at=NOW - 2 * DAY)
    assert check(account, "reports.export", now=NOW).allowed
    subscribe(account, "pro", status="canceled", updated_at=NOW - DAY)
    assert check(account, "reports.export", now=NOW).reason == "subscription_canceled"


def test_membership_change_is_visible_on_the_next_check(catalog_app):
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro")
    assert get_cache().entitlements(account.id, NOW).seats_used == 1
    db.session.commit()  # end the read; a seat change opens its own write transaction
    begin_write_transaction()
    invite_member(account, "new@acme.test", actor=SYSTEM, now=NOW)
    db.session.commit()
    assert get_cache().entitlements(account.id, NOW).seats_used == 2


def test_a_rolled_back_change_leaves_no_trace(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro")
    catalog.revoke_permission("pro", "reports.export")
    # read inside the uncommitted transaction, then roll it back
    assert not check(account, "reports.export", now=NOW).allowed
    db.session.rollback()
    assert check(account, "reports.export", now=NOW).allowed


def test_time_moving_past_the_grace_period_recomputes(catalog_app):
    account = make_account("acme")
    subscribe(account, "pro", status="past_due", period_end=NOW)
    assert check(account, "reports.export", now=NOW + 6 * DAY).allowed
    result = check(account, "reports.export", now=NOW + 7 * DAY)
    assert (result.allowed, result.reason) == (False, "past_due_grace_expired")


CHANGE_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from tiergate import create_app
    from tiergate.catalog import services as catalog
    from tiergate.db import db

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "TIERGATE_DATABASE_URL": sys.argv[1]})
    with app.app_context():
        catalog.revoke_permission("pro", "reports.export")
        db.session.commit()
    """
)


def test_another_process_change_is_seen_after_the_recheck_interval(catalog_app: Flask):
    account = make_account("acme")
    subscribe(account, "pro")
    cache = get_cache()
    clock = cache.clock = FakeClock()
    assert check(account, "reports.export", now=NOW).allowed
    db.session.commit()  # end the read transaction, as a request would

    url = catalog_app.config["TIERGATE_DATABASE_URL"]
    subprocess.run([sys.executable, "-c", CHANGE_IN_ANOTHER_PROCESS, url], check=True)

    # Within the interval the entry is trusted without reading the database...
    clock.now += cache.recheck_seconds / 2
    assert check(account, "reports.export", now=NOW).allowed
    db.session.commit()
    # ...and once it has passed, the version read shows the change.
    clock.now += cache.recheck_seconds
    assert check(account, "reports.export", now=NOW).reason == "not_in_tier"


def test_an_unchanged_version_keeps_the_entry(catalog_app):
    account = make_account("acme")
    cache = get_cache()
    clock = cache.clock = FakeClock()
    check(account, "reports.view", now=NOW)
    computed = cache.computations
    clock.now += 10 * cache.recheck_seconds
    assert check(account, "reports.view", now=NOW).allowed
    assert cache.computations == computed

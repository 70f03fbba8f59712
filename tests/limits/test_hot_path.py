"""What one use costs: the statements of a warm track or reserve, and the soft estimate."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tiergate.db import db
from tiergate.entitlements.services import cache_for_check
from tiergate.limits import LimitReached, check, reserve, track
from tiergate.limits.models import UsageCounter

from .support import NOW, limited_account


@contextmanager
def statements() -> Iterator[list[str]]:
    """Collect the SQL statements run on the app's engine (transaction control left out)."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


@pytest.mark.parametrize(
    ("permission", "verb"),
    [("api.calls", "UPDATE"), ("api.soft", "INSERT"), ("projects", "UPDATE")],
)
def test_a_warm_use_is_one_statement(any_backend_app, permission, verb):
    account_id = limited_account().id  # read now: a commit expires the object
    take = reserve if permission == "projects" else track
    take(account_id, permission, 1, now=NOW)  # warms the caches and makes the counter row
    db.session.commit()
    with statements() as seen:
        take(account_id, permission, 1, now=NOW)
    db.session.commit()
    assert len(seen) == 1, seen
    assert seen[0].startswith(verb)
    assert check(account_id, permission, amount=0, now=NOW).used == 2


def test_hard_thresholds_come_from_the_new_count_on_every_backend(any_backend_app):
    from tiergate.signals import limit_threshold_reached

    account_id = limited_account().id  # free: 100 api.calls, 3 projects
    received: list[tuple[str, int, int]] = []

    def note(sender, **crossing):
        received.append((crossing["permission"], crossing["threshold"], crossing["used"]))

    with limit_threshold_reached.connected_to(note):
        for amount in (79, 2, 5, 14):
            track(account_id, "api.calls", amount, now=NOW)
            db.session.commit()
        for _ in range(3):
            reserve(account_id, "projects", 1, now=NOW)
            db.session.commit()
    # 2 -> 3 of 3 projects crosses both thresholds at once.
    assert received == [
        ("api.calls", 80, 81),
        ("api.calls", 100, 100),
        ("projects", 80, 3),
        ("projects", 100, 3),
    ]
    with pytest.raises(LimitReached, match="100 of 100 used"):
        track(account_id, "api.calls", 1, now=NOW)


def _other_process_adds(account_id: int, used: int) -> None:
    """Write a shard the way another process would, unseen by this one's estimate."""
    db.session.execute(
        sa.insert(UsageCounter).values(
            account_id=account_id,
            permission_key="api.soft",
            period=_period_key(account_id),
            shard=999,
            used=used,
        )
    )
    db.session.commit()


def _period_key(account_id: int) -> str:
    return db.session.scalars(
        sa.select(UsageCounter.period).where(
            UsageCounter.account_id == account_id, UsageCounter.permission_key == "api.soft"
        )
    ).first()


def test_a_soft_use_reads_the_sum_when_stale_near_a_threshold_or_refusing(app):
    account_id = limited_account().id  # free: 100 api.soft
    cache = cache_for_check()
    tick = [0.0]
    cache.clock = lambda: tick[0]
    track(account_id, "api.soft", 10, now=NOW)  # reads the sum (nothing known yet)
    db.session.commit()
    with statements() as seen:
        track(account_id, "api.soft", 10, now=NOW)  # 20 %: the estimate is enough
        db.session.commit()
    assert [s.split()[0] for s in seen] == ["INSERT"]
    _other_process_adds(account_id, 75)  # the real count is now 95
    with statements() as seen:
        track(account_id, "api.soft", 1, now=NOW)  # believed 20: far from 80 %, not read
        db.session.commit()
    assert [s.split()[0] for s in seen] == ["INSERT"]
    tick[0] += cache.recheck_seconds  # stale: read again, and 96 + 10 does not fit
    with statements() as seen, pytest.raises(LimitReached, match="96 of 100 used"):
        track(account_id, "api.soft", 10, now=NOW)
    db.session.rollback()
    # The entitlements' versions are re-read too (stale as well); nothing is added.
    assert [s.split()[0] for s in seen] == ["SELECT", "SELECT"]
    assert "sum(" in seen[-1].lower()
    track(account_id, "api.soft", 4, now=NOW)  # exactly to the limit: soft allows it
    db.session.commit()
    with statements() as seen, pytest.raises(LimitReached, match="100 of 100 used"):
        track(account_id, "api.soft", 1, now=NOW)  # a refusal is decided on a fresh read
    db.session.rollback()
    assert [s.split()[0] for s in seen] == ["SELECT"]
    assert "sum(" in seen[0].lower()

"""The period a metered count belongs to: the account's billing period, or the month.

The period's start is part of the counter's key, so a new period begins at zero by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..entitlements.resolve import Entitlements, LimitedPermission
from .models import ALL_TIME


@dataclass(frozen=True)
class Period:
    """A counting period: its key in the counters, and its bounds (None: all time)."""

    key: str
    start: datetime | None = None
    end: datetime | None = None


ALWAYS = Period(ALL_TIME)


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """Return the calendar month (UTC) that holds ``now``."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else None
    return start, end or start.replace(month=start.month + 1)


def billing_period(entitlements: Entitlements, now: datetime) -> tuple[datetime, datetime]:
    """Return the account's billing period holding ``now``; the calendar month without one.

    A renewal the provider has not reported yet (its webhook is late) continues the last
    known period by its length, so counting goes on in the right period meanwhile.
    """
    start, end = entitlements.period_start, entitlements.period_end
    if start is None or end is None or end <= start or now < start:
        return month_of(now)
    length = end - start
    steps = (now - start) // length
    return start + steps * length, start + (steps + 1) * length


def period_for(permission: LimitedPermission, entitlements: Entitlements, now: datetime) -> Period:
    """Return the period ``permission`` counts in at ``now`` for the account."""
    if permission.kind != "metered":
        return ALWAYS
    start, end = billing_period(entitlements, now)
    return Period(start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), start, end)

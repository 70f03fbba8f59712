"""The dashboard: accounts per effective tier, subscriptions per status, webhook health."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from flask import render_template

from ..accounts.models import Account
from ..billing.models import STATUSES, Subscription
from ..billing.webhooks.inbox import InboxStats, inbox_stats
from ..billing.webhooks.models import WebhookEvent
from ..db import db, utcnow
from ..entitlements.resolve import TierInfo, read_catalog
from ..entitlements.services import get_cache
from .blueprint import admin
from .charts import bar_chart

CHART_DAYS: Final = 14
NO_TIER: Final = "(no tier)"


def accounts_per_tier(now: datetime) -> list[tuple[str, int]]:
    """Return (tier name, accounts whose effective tier it is now), in rank order.

    The access policy that ``entitlements_for`` applies decides which subscriptions grant,
    over every subscription read in one query; accounts with none get the default tier.
    """
    catalog, policy = read_catalog(), get_cache().policy
    columns = (
        Subscription.account_id,
        Subscription.tier_id,
        Subscription.provider,
        Subscription.status,
        Subscription.cancel_at_period_end,
        Subscription.current_period_end,
        Subscription.paid_through,
        Subscription.grant_expires_at,
    )
    best: dict[int, TierInfo] = {}
    for row in db.session.execute(sa.select(*columns)):
        tier = catalog.tiers.get(row.tier_id)
        if tier is None or not policy.decide(row, now).grants:
            continue
        held = best.get(row.account_id)
        if held is None or (tier.rank, tier.id) > (held.rank, held.id):
            best[row.account_id] = tier
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Account)) or 0
    counts = Counter(tier.id for tier in best.values())
    default = catalog.tiers.get(catalog.default_tier_id) if catalog.default_tier_id else None
    without = total - len(best)
    if default is not None:
        counts[default.id] += without
    ordered = sorted(catalog.tiers.values(), key=lambda tier: (tier.rank, tier.key))
    result = [(tier.name, counts[tier.id]) for tier in ordered]
    if default is None and without:
        result.append((NO_TIER, without))
    return result


def subscriptions_per_status() -> list[tuple[str, int]]:
    """Return (status, subscriptions) for every status, in the model's order."""
    rows = db.session.execute(
        sa.select(Subscription.status, sa.func.count()).group_by(Subscription.status)
    )
    counts = {status: count for status, count in rows}
    return [(status, counts.get(status, 0)) for status in STATUSES]


def events_per_day(now: datetime, days: int = CHART_DAYS) -> list[tuple[str, int, int]]:
    """Return (day, events received, of which failed) for the last ``days`` days (UTC)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days - 1 - index) for index in range(days)]
    received, failed = WebhookEvent.received_at, WebhookEvent.status == "failed"
    sums = []
    # One row of conditional sums: the same SQL on every backend, and no date functions.
    for start in starts:
        in_day = sa.and_(received >= start, received < start + timedelta(days=1))
        sums.append(sa.func.sum(sa.case((in_day, 1), else_=0)))
        sums.append(sa.func.sum(sa.case((sa.and_(in_day, failed), 1), else_=0)))
    row = db.session.execute(sa.select(*sums).where(received >= starts[0])).one()
    values = [int(value or 0) for value in row]
    return [
        (start.strftime("%d %b"), values[2 * index], values[2 * index + 1])
        for index, start in enumerate(starts)
    ]


def failed_since(since: datetime) -> int:
    """Return how many events received since ``since`` are failed."""
    query = sa.select(sa.func.count()).where(
        WebhookEvent.status == "failed", WebhookEvent.received_at >= since
    )
    return db.session.scalar(query) or 0


def waiting_for(stats: InboxStats) -> str | None:
    """Return how long the oldest unapplied event has waited, in words (None when none)."""
    seconds = stats.oldest_unapplied_seconds
    if seconds is None:
        return None
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


@admin.get("")
def dashboard() -> str:
    """Show accounts per tier, subscriptions per status and webhook events at a glance."""
    now = utcnow()
    tiers = accounts_per_tier(now)
    days = events_per_day(now)
    tier_chart = bar_chart(
        "chart-tiers",
        "Accounts per effective tier",
        "One bar per tier, in rank order: how many accounts hold it now. "
        + "; ".join(f"{name}: {count}" for name, count in tiers),
        [(name, count, 0) for name, count in tiers],
        unit="accounts",
    )
    event_chart = bar_chart(
        "chart-events",
        f"Webhook events per day, last {CHART_DAYS} days (UTC)",
        "One bar per day: events received; the darker part failed. "
        + "; ".join(f"{day}: {total} ({bad} failed)" for day, total, bad in days),
        days,
        unit="events",
        highlight_label="failed",
    )
    inbox = inbox_stats(now)
    return render_template(
        "tiergate/admin/dashboard.html",
        inbox=inbox,
        inbox_age=waiting_for(inbox),
        tiers=tiers,
        statuses=subscriptions_per_status(),
        failed_24h=failed_since(now - timedelta(hours=24)),
        tier_chart=tier_chart,
        event_chart=event_chart,
    )

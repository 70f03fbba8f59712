"""Each console list runs the same number of queries for 10 rows as for 1,000."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Account, Membership
from tiergate.audit.models import AuditEvent
from tiergate.billing.models import Subscription
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.catalog.models import Permission, SubscriptionTier, subscription_tier_permission
from tiergate.db import db, utcnow
from tiergate.standalone.users import User

from .support import counting_queries, text


def add_accounts(start: int, count: int) -> None:
    """Insert accounts, each with one member and one Stripe subscription to pro."""
    numbers = range(start, start + count)
    now = utcnow()
    db.session.execute(
        sa.insert(Account), [{"name": f"Bulk {n:05d}", "slug": f"bulk-{n:05d}"} for n in numbers]
    )
    db.session.execute(sa.insert(User), [{"email": f"bulk{n:05d}@bulk.test"} for n in numbers])
    accounts = {slug: id_ for slug, id_ in db.session.execute(sa.select(Account.slug, Account.id))}
    users = {email: id_ for email, id_ in db.session.execute(sa.select(User.email, User.id))}
    pro = db.session.scalar(sa.select(SubscriptionTier.id).where(SubscriptionTier.key == "pro"))
    db.session.execute(
        sa.insert(Membership),
        [
            {
                "account_id": accounts[f"bulk-{n:05d}"],
                "user_id": users[f"bulk{n:05d}@bulk.test"],
                "role": "owner",
            }
            for n in numbers
        ],
    )
    db.session.execute(
        sa.insert(Subscription),
        [
            {
                "account_id": accounts[f"bulk-{n:05d}"],
                "tier_id": pro,
                "provider": "stripe",
                "provider_subscription_id": f"sub_bulk_{n}",
                "status": ("active", "past_due", "canceled")[n % 3],
                "current_period_end": now + timedelta(days=10),
                "provider_updated_at": now,
            }
            for n in numbers
        ],
    )


def add_tiers(start: int, count: int) -> None:
    """Insert tiers, each granting two permissions."""
    db.session.execute(
        sa.insert(SubscriptionTier),
        [
            {"key": f"bulk{n:05d}", "name": f"Bulk {n}", "rank": 50 + n}
            for n in range(start, start + count)
        ],
    )
    permissions = list(db.session.scalars(sa.select(Permission.id).limit(2)))
    tiers = db.session.scalars(
        sa.select(SubscriptionTier.id).where(SubscriptionTier.key.startswith("bulk"))
    ).all()
    db.session.execute(
        sa.delete(subscription_tier_permission).where(
            subscription_tier_permission.c.tier_id.in_(tiers)
        )
    )
    db.session.execute(
        sa.insert(subscription_tier_permission),
        [{"tier_id": tier, "permission_id": p} for tier in tiers for p in permissions],
    )


def add_permissions(start: int, count: int) -> None:
    """Insert permissions, each granted by the staff and enterprise tiers."""
    db.session.execute(
        sa.insert(Permission),
        [{"key": f"bulk.{n:05d}", "name": f"Bulk {n}"} for n in range(start, start + count)],
    )
    tiers = db.session.scalars(
        sa.select(SubscriptionTier.id).where(SubscriptionTier.key.in_(["staff", "enterprise"]))
    ).all()
    new = db.session.scalars(
        sa.select(Permission.id).where(
            Permission.key.in_([f"bulk.{n:05d}" for n in range(start, start + count)])
        )
    ).all()
    db.session.execute(
        sa.insert(subscription_tier_permission),
        [{"tier_id": tier, "permission_id": p} for tier in tiers for p in new],
    )


def add_events(start: int, count: int) -> None:
    """Insert webhook events over the last days, some failed."""
    now = utcnow()
    db.session.execute(
        sa.insert(WebhookEvent),
        [
            {
                "provider": "stripe",
                "provider_event_id": f"evt_bulk_{n}",
                "type": "customer.subscription.updated",
                "received_at": now - timedelta(hours=n % 300),
                "provider_created_at": now,
                "payload": {"id": f"evt_bulk_{n}"},
                "status": "failed" if n % 4 == 0 else "processed",
                "attempts": 1,
            }
            for n in range(start, start + count)
        ],
    )


def add_audit_events(start: int, count: int) -> None:
    """Insert audit events."""
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {
                "actor_type": "system",
                "actor_label": "bulk",
                "action": "account.created",
                "target_type": "account",
                "target_id": str(n),
                "after": {"n": n},
            }
            for n in range(start, start + count)
        ],
    )


#: page -> (how to add rows, a pattern matching one listed row)
LISTS: dict[str, tuple[Callable[[int, int], None], str]] = {
    "/admin/accounts": (add_accounts, r'<a href="/admin/accounts/\d+">'),
    "/admin/tiers": (add_tiers, r'<a href="/admin/tiers/\d+">'),
    "/admin/permissions": (add_permissions, r'<a href="/admin/permissions/\d+"><code>'),
    "/admin/events": (add_events, r'<a href="/admin/events/\d+">'),
    "/admin/audit": (add_audit_events, r"<td><code>[a-z_.]+</code></td>"),
    "/admin": (add_accounts, r'<rect class="chart-value"'),
}


def queries_for(client, url: str, pattern: str) -> tuple[int, int]:
    """Return (queries run, rows shown) for one GET of ``url``."""
    with counting_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements), len(re.findall(pattern, text(response)))


@pytest.mark.parametrize("url", list(LISTS))
def test_a_list_runs_the_same_queries_for_10_and_1000_rows(staff, cast, url) -> None:
    add_rows, pattern = LISTS[url]
    add_rows(0, 10)
    db.session.commit()
    few, shown_few = queries_for(staff, url, pattern)
    add_rows(10, 990)
    db.session.commit()
    many, shown_many = queries_for(staff, url, pattern)

    assert few == many
    if url != "/admin":
        assert shown_few >= 10  # the rows added, plus what the test data had
        assert shown_many == 50  # one page
        assert "Next page" in text(staff.get(url))
        [next_url] = re.findall(r'<a rel="next" href="([^"]+)"', text(staff.get(url)))
        second, shown_second = queries_for(staff, next_url.replace("&amp;", "&"), pattern)
        assert shown_second == 50 and second == many

"""0011_billed_twice fills the new flag from the subscriptions already stored, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from pytest_alembic.runner import MigrationContext

from tiergate.db import db

from .support import catalog_rows, write_catalog_rows

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _table(name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=db.engine)


def test_accounts_with_two_renewing_plans_are_flagged(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("0010_console_indexes")
    account, subscription = _table("tiergate_account"), _table("tiergate_subscription")
    stamps = {"created_at": AT, "updated_at": AT}
    # Pro (Stripe, id 101) and Team (Whop, id 102) from the catalog rows; Free is exempt.
    rows = [  # account -> (tier, provider, status, ends at period end)
        ("twice", 101, "stripe", "active", False),
        ("twice", 102, "whop", "past_due", False),
        ("ending", 101, "stripe", "active", True),
        ("ending", 102, "whop", "active", False),
        ("lapsed", 101, "stripe", "canceled", False),
        ("lapsed", 102, "whop", "active", False),
        ("granted", 100, "exempt", "active", False),
        ("granted", 101, "stripe", "trialing", False),
    ]
    slugs = sorted({slug for slug, *_ in rows})
    with db.engine.begin() as connection:
        write_catalog_rows(connection, catalog_rows(100, "flag"))
        connection.execute(
            account.insert(),
            [{"id": n, "name": s, "slug": s, **stamps} for n, s in enumerate(slugs, 1)],
        )
        ids = {slug: n for n, slug in enumerate(slugs, 1)}
        connection.execute(
            subscription.insert(),
            [
                {
                    "account_id": ids[slug],
                    "tier_id": tier,
                    "provider": provider,
                    "provider_subscription_id": f"{slug}_{n}",
                    "status": status,
                    "cancel_at_period_end": ending,
                    "provider_updated_at": AT,
                    **stamps,
                }
                for n, (slug, tier, provider, status, ending) in enumerate(rows)
            ],
        )
    alembic_runner.migrate_up_one()
    with db.engine.connect() as connection:
        query = sa.select(account.c.slug, sa.column("billed_twice")).select_from(account)
        flags = {slug: flag for slug, flag in connection.execute(query)}
    assert {slug for slug, flag in flags.items() if flag} == {"twice"}
    alembic_runner.migrate_down_one()  # and back: the column goes, the accounts stay
    with db.engine.connect() as connection:
        assert sorted(connection.scalars(sa.select(account.c.slug))) == slugs

"""Accounts billed twice: a flag kept on the account, so the console finds them by index.

Filled here from the subscriptions as they are: an account with more than one live
(trialing, active, past_due, unpaid, paused), renewing (not ending at its period end) Stripe
or Whop subscription to a plan that is not an add-on.

Revision ID: 0011_billed_twice
Revises: 0010_console_indexes
Create Date: 2026-11-28 03:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_billed_twice"
down_revision = "0010_console_indexes"
branch_labels = None
depends_on = None

account = sa.table("tiergate_account", sa.column("id", sa.Integer), sa.column("billed_twice"))
subscription = sa.table(
    "tiergate_subscription",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("tier_id", sa.Integer),
    sa.column("provider", sa.String),
    sa.column("status", sa.String),
    sa.column("cancel_at_period_end", sa.Boolean),
)
tier = sa.table("subscription_tier", sa.column("id", sa.Integer), sa.column("is_addon", sa.Boolean))


def upgrade():
    with op.batch_alter_table("tiergate_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("billed_twice", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_tiergate_account_billed_twice_slug", ["billed_twice", "slug"], unique=False
        )
    billed_twice = (
        sa.select(subscription.c.account_id)
        .join(tier, subscription.c.tier_id == tier.c.id)
        .where(
            subscription.c.provider.in_(("stripe", "whop")),
            subscription.c.status.in_(("trialing", "active", "past_due", "unpaid", "paused")),
            tier.c.is_addon == sa.false(),
            subscription.c.cancel_at_period_end == sa.false(),
        )
        .group_by(subscription.c.account_id)
        .having(sa.func.count(subscription.c.id) > 1)
    )
    op.execute(
        account.update().where(account.c.id.in_(billed_twice)).values(billed_twice=sa.true())
    )


def downgrade():
    with op.batch_alter_table("tiergate_account", schema=None) as batch_op:
        batch_op.drop_index("ix_tiergate_account_billed_twice_slug")
        batch_op.drop_column("billed_twice")

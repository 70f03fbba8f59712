"""Billing lifecycle: yearly prices, trials, per-seat and add-on tiers; subscription periods.

Tiers gain a yearly price key per provider, trial days, per-seat pricing and the add-on flag.
Subscriptions gain the period start, the paid-through date (a past_due subscription's grace
runs from it), the billing interval, the quantity, a change scheduled for the period end and
the subscription that succeeded them. Every new column has a default or may be NULL, so
existing rows keep their meaning.

Revision ID: 0005_billing_lifecycle
Revises: 0004_webhook_events
Create Date: 2026-11-27 21:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_billing_lifecycle"
down_revision = "0004_webhook_events"
branch_labels = None
depends_on = None

INTERVALS = "'day', 'week', 'month', 'year', 'once'"


def upgrade():
    with op.batch_alter_table("subscription_tier", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stripe_yearly_lookup_key", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column("whop_yearly_product_key", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column("trial_days", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("per_seat", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("is_addon", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_unique_constraint(
            "uq_subscription_tier_stripe_yearly_lookup_key", ["stripe_yearly_lookup_key"]
        )
        batch_op.create_unique_constraint(
            "uq_subscription_tier_whop_yearly_product_key", ["whop_yearly_product_key"]
        )
        batch_op.create_check_constraint(
            "ck_subscription_tier_trial_days_range", "trial_days >= 0 AND trial_days <= 730"
        )
    with op.batch_alter_table("tiergate_subscription", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("paid_through", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("billing_interval", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("quantity", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("scheduled_tier_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("scheduled_change_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("successor_id", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "ck_tiergate_subscription_billing_interval", f"billing_interval IN ({INTERVALS})"
        )
        batch_op.create_check_constraint(
            "ck_tiergate_subscription_quantity_not_negative", "quantity >= 0"
        )
        batch_op.create_foreign_key(
            "fk_tiergate_subscription_scheduled_tier_id_subscription_tier",
            "subscription_tier",
            ["scheduled_tier_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            "fk_tiergate_subscription_successor_id_tiergate_subscription",
            "tiergate_subscription",
            ["successor_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("tiergate_subscription", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_tiergate_subscription_successor_id_tiergate_subscription", type_="foreignkey"
        )
        batch_op.drop_constraint(
            "fk_tiergate_subscription_scheduled_tier_id_subscription_tier", type_="foreignkey"
        )
        batch_op.drop_constraint("ck_tiergate_subscription_quantity_not_negative", type_="check")
        batch_op.drop_constraint("ck_tiergate_subscription_billing_interval", type_="check")
        batch_op.drop_column("successor_id")
        batch_op.drop_column("scheduled_change_at")
        batch_op.drop_column("scheduled_tier_id")
        batch_op.drop_column("quantity")
        batch_op.drop_column("billing_interval")
        batch_op.drop_column("paid_through")
        batch_op.drop_column("current_period_start")
    with op.batch_alter_table("subscription_tier", schema=None) as batch_op:
        batch_op.drop_constraint("ck_subscription_tier_trial_days_range", type_="check")
        batch_op.drop_constraint("uq_subscription_tier_whop_yearly_product_key", type_="unique")
        batch_op.drop_constraint("uq_subscription_tier_stripe_yearly_lookup_key", type_="unique")
        batch_op.drop_column("is_addon")
        batch_op.drop_column("per_seat")
        batch_op.drop_column("trial_days")
        batch_op.drop_column("whop_yearly_product_key")
        batch_op.drop_column("stripe_yearly_lookup_key")

"""Limits: numbers on tier permissions, usage counters and the meter outbox.

Permissions gain a kind (feature, allocation, metered), an enforcement (hard, soft), a unit
and the Stripe meter and metered price they bill overage through; the tier-permission link
gains its limit (NULL: unlimited). Existing permissions become features with server
defaults, so the catalog keeps its meaning. Two new tables: usage counters keyed by period
and shard, and the outbox of meter events to report.

Revision ID: 0007_limits
Revises: 0006_mail_outbox
Create Date: 2026-11-27 23:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_limits"
down_revision = "0006_mail_outbox"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="feature", nullable=False)
        )
        batch_op.add_column(
            sa.Column("enforcement", sa.String(length=8), server_default="hard", nullable=False)
        )
        batch_op.add_column(sa.Column("unit", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("meter_event_name", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("metered_price_lookup_key", sa.String(length=128), nullable=True)
        )
        batch_op.create_check_constraint(
            "ck_permission_kind", "kind IN ('feature', 'allocation', 'metered')"
        )
        batch_op.create_check_constraint(
            "ck_permission_enforcement", "enforcement IN ('hard', 'soft')"
        )
    with op.batch_alter_table("subscription_tier_permission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("usage_limit", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "ck_subscription_tier_permission_usage_limit_not_negative", "usage_limit >= 0"
        )
    _create_usage_counter()
    _create_meter_event()


def _create_usage_counter():
    op.create_table(
        "tiergate_usage_counter",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("permission_key", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("used >= 0", name="ck_tiergate_usage_counter_used_not_negative"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name="fk_tiergate_usage_counter_account_id_tiergate_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "permission_key", "period", "shard", name="pk_tiergate_usage_counter"
        ),
    )


def _create_meter_event():
    op.create_table(
        "tiergate_meter_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("permission_key", sa.String(length=64), nullable=False),
        sa.Column("event_name", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name="fk_tiergate_meter_event_account_id_tiergate_account",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'dead', 'review')", name="ck_tiergate_meter_event_state"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tiergate_meter_event"),
        sa.UniqueConstraint("identifier", name="uq_tiergate_meter_event_identifier"),
    )
    with op.batch_alter_table("tiergate_meter_event", schema=None) as batch_op:
        batch_op.create_index("ix_tiergate_meter_event_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_tiergate_meter_event_sent_at", ["sent_at"], unique=False)
        batch_op.create_index("ix_tiergate_meter_event_state", ["state"], unique=False)


def downgrade():
    # Its indexes go with it (MariaDB refuses to drop the foreign key's index first).
    op.drop_table("tiergate_meter_event")
    op.drop_table("tiergate_usage_counter")
    with op.batch_alter_table("subscription_tier_permission", schema=None) as batch_op:
        batch_op.drop_constraint(
            "ck_subscription_tier_permission_usage_limit_not_negative", type_="check"
        )
        batch_op.drop_column("usage_limit")
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.drop_constraint("ck_permission_enforcement", type_="check")
        batch_op.drop_constraint("ck_permission_kind", type_="check")
        batch_op.drop_column("metered_price_lookup_key")
        batch_op.drop_column("meter_event_name")
        batch_op.drop_column("unit")
        batch_op.drop_column("enforcement")
        batch_op.drop_column("kind")

"""The seed's catalog: permissions, subscription tiers and the tiers' permissions.

The three tables exactly as the seed application's models define them, every constraint named
by tiergate's convention. ``tiergate db adopt`` stamps an existing seed schema at this
revision (after naming its constraints), so upgrading from here keeps its rows.

Revision ID: 0001_initial_catalog
Revises:
Create Date: 2026-11-25 12:49:31

Every constraint and index is named explicitly (the naming convention's names), so that later
batch migrations on SQLite can always find and recreate them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial_catalog"
down_revision = None
branch_labels = ("tiergate",)
depends_on = None


def upgrade():
    op.create_table(
        "permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission")),
        sa.UniqueConstraint("name", name=op.f("uq_permission_name")),
    )
    op.create_table(
        "subscription_tier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("user_limit", sa.Integer(), nullable=False),
        sa.Column("is_customer_facing", sa.Boolean(), nullable=False),
        sa.Column("billing_provider", sa.String(length=32), nullable=False),
        sa.Column("is_billing_exempt", sa.Boolean(), nullable=False),
        sa.Column("stripe_lookup_key", sa.String(length=128), nullable=True),
        sa.Column("whop_product_key", sa.String(length=128), nullable=True),
        sa.Column("fallback_price", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "billing_provider IN ('exempt', 'stripe', 'whop')",
            name=op.f("ck_subscription_tier_billing_provider"),
        ),
        sa.CheckConstraint(
            "user_limit >= 1", name=op.f("ck_subscription_tier_user_limit_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_tier")),
        sa.UniqueConstraint("key", name=op.f("uq_subscription_tier_key")),
        sa.UniqueConstraint(
            "stripe_lookup_key", name=op.f("uq_subscription_tier_stripe_lookup_key")
        ),
        sa.UniqueConstraint("whop_product_key", name=op.f("uq_subscription_tier_whop_product_key")),
    )
    op.create_index(
        op.f("ix_subscription_tier_is_billing_exempt"),
        "subscription_tier",
        ["is_billing_exempt"],
        unique=False,
    )
    op.create_table(
        "subscription_tier_permission",
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("permission_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permission.id"],
            name=op.f("fk_subscription_tier_permission_permission_id_permission"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["subscription_tier.id"],
            name=op.f("fk_subscription_tier_permission_tier_id_subscription_tier"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tier_id", "permission_id", name=op.f("pk_subscription_tier_permission")
        ),
    )
    op.create_index(
        op.f("ix_subscription_tier_permission_permission_id"),
        "subscription_tier_permission",
        ["permission_id"],
        unique=False,
    )


def downgrade():
    # The table takes its indexes with it. Dropping the permission_id index first fails on
    # MariaDB: InnoDB needs it for the foreign key (error 1553).
    op.drop_table("subscription_tier_permission")
    op.drop_index(op.f("ix_subscription_tier_is_billing_exempt"), table_name="subscription_tier")
    op.drop_table("subscription_tier")
    op.drop_table("permission")

"""Accounts, memberships, invitations, API keys, subscriptions, the audit log, cache versions.

Users are the application's: they are referred to by integer id, without a foreign key.

Revision ID: 0003_accounts_billing
Revises: 0002_catalog_additions
Create Date: 2026-11-25 12:54:30

Every constraint and index is named explicitly (the naming convention's names). Enumerations
are strings with named CHECK constraints, which behave the same on every backend.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_accounts_billing"
down_revision = "0002_catalog_additions"
branch_labels = None
depends_on = None


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade():
    op.create_table(
        "tiergate_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("entitlements_version", sa.Integer(), server_default="0", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_account")),
        sa.UniqueConstraint("slug", name=op.f("uq_tiergate_account_slug")),
    )
    op.create_table(
        "tiergate_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member')", name=op.f("ck_tiergate_membership_role")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name=op.f("fk_tiergate_membership_account_id_tiergate_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_membership")),
        sa.UniqueConstraint(
            "account_id", "user_id", name=op.f("uq_tiergate_membership_account_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_tiergate_membership_user_id"), "tiergate_membership", ["user_id"], unique=False
    )
    op.create_table(
        "tiergate_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member')", name=op.f("ck_tiergate_invitation_role")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name=op.f("fk_tiergate_invitation_account_id_tiergate_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tiergate_invitation_token_hash")),
    )
    op.create_index(
        op.f("ix_tiergate_invitation_account_id"),
        "tiergate_invitation",
        ["account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tiergate_invitation_invited_by_id"),
        "tiergate_invitation",
        ["invited_by_id"],
        unique=False,
    )
    op.create_table(
        "tiergate_api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name=op.f("fk_tiergate_api_key_account_id_tiergate_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_tiergate_api_key_key_hash")),
    )
    op.create_index(
        op.f("ix_tiergate_api_key_account_id"), "tiergate_api_key", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_tiergate_api_key_created_by_id"),
        "tiergate_api_key",
        ["created_by_id"],
        unique=False,
    )
    _create_subscription()
    _create_audit_event()
    op.create_table(
        "tiergate_cache_version",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tiergate_cache_version")),
    )
    # The catalog's counter exists from the start, so a change only ever updates it.
    cache_version = sa.table("tiergate_cache_version", sa.column("name"), sa.column("version"))
    op.bulk_insert(cache_version, [{"name": "catalog", "version": 0}])


def _create_subscription():
    op.create_table(
        "tiergate_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_subscription_id", sa.String(length=128), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("trial_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("grant_reason", sa.Text(), nullable=True),
        sa.Column("grant_expires_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "provider IN ('exempt', 'stripe', 'whop')",
            name=op.f("ck_tiergate_subscription_provider"),
        ),
        sa.CheckConstraint(
            "status IN ('trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled', "
            "'incomplete', 'expired')",
            name=op.f("ck_tiergate_subscription_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["tiergate_account.id"],
            name=op.f("fk_tiergate_subscription_account_id_tiergate_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["subscription_tier.id"],
            name=op.f("fk_tiergate_subscription_tier_id_subscription_tier"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_subscription")),
        sa.UniqueConstraint(
            "provider",
            "provider_subscription_id",
            name=op.f("uq_tiergate_subscription_provider_provider_subscription_id"),
        ),
    )
    op.create_index(
        op.f("ix_tiergate_subscription_account_id"),
        "tiergate_subscription",
        ["account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tiergate_subscription_granted_by_id"),
        "tiergate_subscription",
        ["granted_by_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tiergate_subscription_tier_id"), "tiergate_subscription", ["tier_id"], unique=False
    )


def _create_audit_event():
    op.create_table(
        "tiergate_audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "actor_type IN ('user', 'api_key', 'provider', 'system')",
            name=op.f("ck_tiergate_audit_event_actor_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiergate_audit_event")),
    )
    op.create_index(
        op.f("ix_tiergate_audit_event_action"), "tiergate_audit_event", ["action"], unique=False
    )
    op.create_index(
        op.f("ix_tiergate_audit_event_actor_type_actor_id"),
        "tiergate_audit_event",
        ["actor_type", "actor_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tiergate_audit_event_created_at"),
        "tiergate_audit_event",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tiergate_audit_event_target_type_target_id"),
        "tiergate_audit_event",
        ["target_type", "target_id"],
        unique=False,
    )


def downgrade():
    # Dropping a table drops its indexes; MariaDB refuses to drop an index a foreign key
    # still needs, so the indexes are not dropped one by one first.
    for table in (
        "tiergate_cache_version",
        "tiergate_audit_event",
        "tiergate_subscription",
        "tiergate_api_key",
        "tiergate_invitation",
        "tiergate_membership",
        "tiergate_account",
    ):
        op.drop_table(table)

"""tiergate's catalog columns: permission keys and timestamps, tier rank and default.

A permission's ``key`` is what code asks for (``reports.export``); adopted permissions get one
made from their name. The name stops being unique: two permissions may read alike.

Revision ID: 0002_catalog_additions
Revises: 0001_initial_catalog
Create Date: 2026-11-27 18:00:00

"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002_catalog_additions"
down_revision = "0001_initial_catalog"
branch_labels = None
depends_on = None

PERMISSION = sa.table(
    "permission",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("key", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def key_from_name(name: str) -> str:
    """Make a permission key from a name: lower case, [a-z0-9._-], at most 64 characters."""
    key = re.sub(r"[^a-z0-9._-]+", "-", (name or "").strip().lower()).strip("-._")
    return key[:64].strip("-._") or "permission"


def _fill_permissions() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(PERMISSION.c.id, PERMISSION.c.name)).all()
    taken: set[str] = set()
    now = datetime.now(UTC)
    if connection.dialect.name != "postgresql":
        now = now.replace(tzinfo=None)
    for permission_id, name in sorted(rows):
        key, suffix = key_from_name(name), 2
        while key in taken:
            key, suffix = f"{key_from_name(name)[:60]}-{suffix}", suffix + 1
        taken.add(key)
        connection.execute(
            PERMISSION.update()
            .where(PERMISSION.c.id == permission_id)
            .values(key=key, created_at=now, updated_at=now)
        )


def upgrade():
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    _fill_permissions()
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column(
            "created_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.drop_constraint(batch_op.f("uq_permission_name"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_permission_key"), ["key"])
    with op.batch_alter_table("subscription_tier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rank", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("subscription_tier", schema=None) as batch_op:
        batch_op.drop_column("is_default")
        batch_op.drop_column("rank")
    with op.batch_alter_table("permission", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_permission_key"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_permission_name"), ["name"])
        batch_op.drop_column("updated_at")
        batch_op.drop_column("created_at")
        batch_op.drop_column("key")
